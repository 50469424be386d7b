"""``poi-ode evidence``: the evidence calibration page, its table and its freshness."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from poi_ode.cli import main
from poi_ode.data import load_pooled_effects
from poi_ode.mbma.report import EVIDENCE_COLUMNS, coverage_of_must_show

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """The evidence calibration as the command writes it, once for the module."""
    out = tmp_path_factory.mktemp("evidence")
    assert main(["evidence", "--out", str(out), "--quiet"]) == 0
    return out


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=True)


def test_the_command_writes_page_table_and_forest_figures(written):
    table = _csv(written / "evidence.csv")
    assert list(table.columns[: len(EVIDENCE_COLUMNS)]) == list(EVIDENCE_COLUMNS)
    assert set(table["therapy"]) == {"msc", "exosome"}
    for therapy in ("msc", "exosome"):
        assert (written / f"evidence_forest_{therapy}.png").stat().st_size > 10_000
    page = (written / "evidence.md").read_text(encoding="utf-8")
    for text in ("## Mechanisms compared", "## Held-out subgroups", "## Rows left out", "## Assumptions"):
        assert text in page
    assert (written / "evidence_reverse.csv").is_file()


def test_published_numbers_of_the_table_are_the_bundled_ones(written):
    """Every published estimate and interval of the report is the bundled pooled effect, unchanged."""
    table = _csv(written / "evidence.csv").set_index("effect_id")
    bundled = load_pooled_effects("preclinical_pooled_effects").set_index("effect_id")
    for col, src in (("published", "estimate"), ("published_lower", "ci_low"), ("published_upper", "ci_high")):
        assert np.array_equal(table[col].to_numpy(float), bundled.loc[table.index, src].to_numpy(float)), col
    assert (table["within_ci"] == ((table["published_lower"] <= table["predicted"])
                                   & (table["predicted"] <= table["published_upper"]))).all()
    assert (table["predicted_lower"] <= table["predicted"] + 1e-9).all()
    assert (table["predicted"] <= table["predicted_upper"] + 1e-9).all()


def test_committed_evidence_page_is_current(written):
    fresh = _csv(written / "evidence.csv")
    committed = _csv(DOCS / "evidence.csv")
    hint = "docs/evidence.* is stale: run `poi-ode evidence --out docs`"
    assert list(fresh["effect_id"]) == list(committed["effect_id"]), hint
    for col in ("published", "published_lower", "published_upper"):
        assert np.array_equal(fresh[col].to_numpy(float), committed[col].to_numpy(float)), (hint, col)
    for col in ("predicted", "predicted_lower", "predicted_upper"):
        assert np.allclose(fresh[col], committed[col], rtol=1e-3, atol=1e-3), (hint, col)
    assert (fresh["within_ci"] == committed["within_ci"]).all(), hint
    hits, total = coverage_of_must_show(committed)
    head = "\n".join((DOCS / "evidence.md").read_text(encoding="utf-8").splitlines()[:12])
    assert f"**Coverage:** {hits} of {total} fitted" in head, hint


def test_calibration_reproduces_80_percent_of_the_pooled_hormone_effects(written):
    """Issue 12: the overall, species and chemotherapy rows of E2, FSH and AMH of both meta-analyses, the
    predicted pooled effect inside the published 95% CI for at least 80% of them (published numbers from the
    bundled pooled effects)."""
    hits, total = coverage_of_must_show(_csv(written / "evidence.csv"))
    assert total >= 10
    assert hits / total >= 0.8, f"{hits} of {total} rows inside their published CI"


def test_evidence_command_rejects_an_unknown_therapy(capsys, tmp_path):
    assert main(["evidence", "--therapy", "stem-cells", "--out", str(tmp_path)]) == 2
    assert "stem-cells" in capsys.readouterr().err
