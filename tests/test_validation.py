"""The natural-history validation page: targets from the evidence sheet, checks that can fail, a current page."""
from __future__ import annotations

import csv
import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import poi_ode as po
from poi_ode.cli import main
from poi_ode.validation import COLUMNS, build_targets, final_menstrual_period, load_targets, run_checks
from poi_ode.validation.checks import change_points, faddy_gosden_curve
from poi_ode.validation.targets import TARGET_COLUMNS, targets_path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
EVIDENCE = Path(__file__).resolve().parents[2] / "shared" / "evidence"
needs_evidence = pytest.mark.skipif(
    not EVIDENCE.exists(), reason="../shared/evidence (the team's evidence sheets) is not beside the checkout"
)
REQUIRED = ["check", "species", "quantity", "condition", "published", "published_low", "published_high", "model",
            "unit", "passed", "source"]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, Path]:
    """The page written by the command, once for the module."""
    out = tmp_path_factory.mktemp("validation")
    assert main(["validate", "--out", str(out)]) == 0
    return out / "validation.md", out / "validation.csv"


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=True)


# --- targets: published numbers by code -------------------------------------------------------
@needs_evidence
def test_rebuilding_the_targets_from_the_evidence_reproduces_the_bundled_file(tmp_path):
    out = tmp_path / "targets.csv"
    text = build_targets(EVIDENCE, out)
    assert out.read_text(encoding="utf-8") == text
    assert text == targets_path().read_text(encoding="utf-8"), "targets.csv is stale: run build_targets"


@needs_evidence
def test_every_target_is_the_value_printed_on_its_evidence_lines():
    with (EVIDENCE / "natural_history.csv").open(newline="", encoding="utf-8") as fh:
        lines = {str(k + 2): row for k, row in enumerate(csv.DictReader(fh))}
    for name, t in load_targets().items():
        rows = [lines[n] for n in t["evidence_rows"].split(";")]
        assert t["value_printed"] == ";".join(r["value"] for r in rows), name
        for col in ("study_id", "analyte", "unit", "citation", "source_location", "source_url", "confidence"):
            assert t[col] == rows[0][col], (name, col)
        if len(rows) == 1 and re.fullmatch(r"-?[\d.]+", rows[0]["value"]):
            assert t["value"] == float(rows[0]["value"]), name
        if t["bounds_from"].endswith("as printed"):
            low, high = (float(x) for x in rows[0]["spread"].split("-"))
            assert (t["low"], t["high"]) == (low, high), name


def test_targets_file_has_its_columns_and_names_every_source():
    with targets_path().open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == TARGET_COLUMNS
        rows = list(reader)
    assert rows and all(r["citation"] and r["source_location"] and r["evidence_rows"] for r in rows)


# --- the page -----------------------------------------------------------------------------------
def test_csv_has_exactly_the_required_columns(written):
    _, csv_path = written
    assert list(COLUMNS) == REQUIRED
    with csv_path.open(newline="", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == REQUIRED
    with (DOCS / "validation.csv").open(newline="", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == REQUIRED


def test_page_starts_with_the_pass_count_and_keeps_failing_checks(written):
    md_path, csv_path = written
    frame = _csv(csv_path)
    head = "\n".join(md_path.read_text(encoding="utf-8").splitlines()[:6])
    assert f"**{int(frame['passed'].sum())} of {len(frame)} checks pass**" in head
    table_rows = [line for line in md_path.read_text(encoding="utf-8").splitlines() if re.match(r"\| [HM]\d+ \|", line)]
    assert len(table_rows) == len(frame)
    assert sum("**FAIL**" in line for line in table_rows) == int((~frame["passed"]).sum())


def test_every_check_states_its_condition_and_source_and_published_numbers_come_from_the_targets(written):
    frame = _csv(written[1])
    assert frame["check"].is_unique
    assert set(frame["species"]) == {"human", "mouse"}
    assert frame["condition"].str.len().min() > 5 and frame["source"].str.len().min() > 5
    from poi_ode.population.targets import load_population_targets

    targets = [*load_targets().values(), *load_population_targets().values()]
    values = [t[k] for t in targets for k in ("value", "low", "high")]
    for _, row in frame.iterrows():
        if math.isfinite(row["published"]) and "published:" not in row["condition"]:
            assert any(math.isclose(row["published"], v, rel_tol=1e-12) for v in values
                       if math.isfinite(v)), row["check"]
        if not any(origin in row["source"] for origin in ("issue 10", "issue 11", "SCIENCE_REVIEW")):
            assert any(f"{sheet} line" in row["source"] for sheet in ("natural_history.csv", "clinical_baselines.csv",
                                                                       "SCIENCE_REVIEW.md")), row["check"]


def _same_table(fresh: pd.DataFrame, committed: pd.DataFrame) -> list[str]:
    """Differences other than float noise in model values (agreement to about 3 significant digits)."""
    problems = []
    if list(fresh["check"]) != list(committed["check"]):
        return [f"checks differ: {sorted(set(fresh['check']) ^ set(committed['check']))}"]
    for col in ("species", "quantity", "condition", "unit", "source"):
        bad = fresh[col].astype(str) != committed[col].astype(str)
        problems += [f"{c}: {col} changed" for c in fresh.loc[bad, "check"]]
    for col in ("published", "published_low", "published_high"):
        bad = ~np.isclose(fresh[col], committed[col], rtol=1e-12, atol=0, equal_nan=True)
        problems += [f"{c}: {col} changed" for c in fresh.loc[bad, "check"]]
    bad = ~np.isclose(fresh["model"], committed["model"], rtol=1e-3, atol=1e-6, equal_nan=True)
    problems += [f"{c}: model {a!r} -> {b!r}" for c, a, b in
                 zip(fresh.loc[bad, "check"], committed.loc[bad, "model"], fresh.loc[bad, "model"])]
    bad = fresh["passed"].astype(bool).values != committed["passed"].astype(bool).values
    problems += [f"{c}: passed changed" for c in fresh.loc[bad, "check"]]
    return problems


def test_committed_validation_page_is_current(written):
    fresh = _csv(written[1])
    committed = _csv(DOCS / "validation.csv")
    problems = _same_table(fresh, committed)
    assert not problems, "docs/validation.* is stale; run `poi-ode validate --out docs`:\n" + "\n".join(problems[:20])
    head = "\n".join((DOCS / "validation.md").read_text(encoding="utf-8").splitlines()[:6])
    assert f"**{int(committed['passed'].sum())} of {len(committed)} checks pass**" in head


# --- the checks can fail, and never crash -------------------------------------------------------
def test_a_tiny_activation_rate_fails_the_reserve_checks():
    pset = po.load_model("human").parameter_set
    k_act = pset["k_act"]
    tiny = pset.with_bounds("k_act", k_act.value * 1e-4, k_act.upper).with_values({"k_act": k_act.value * 1e-3})
    nominal = run_checks(["human"]).set_index("check")
    broken = run_checks(["human"], params={"human": tiny}).set_index("check")
    relevant = ["NGF ratio 30 -> 40 y", "NGF < 1,000 at 49-53 y, any start age", "age at the final menstrual period"]
    for name in relevant:
        assert not broken.loc[name, "passed"], name
        assert not np.isclose(broken.loc[name, "model"], nominal.loc[name, "model"], equal_nan=False), name
    # failing on the criterion, with a computed value, not on an error
    assert np.isfinite(broken.loc["NGF ratio 30 -> 40 y", "model"])
    assert broken.loc["NGF ratio 30 -> 40 y", "model"] > 0.9  # the reserve hardly declines
    assert nominal.loc[relevant, "passed"].any(), "no reserve check passes even with the bundled set"


def test_a_model_quantity_that_cannot_be_computed_gives_nan_and_fail_not_a_crash(monkeypatch):
    def unavailable(*args, **kwargs):
        raise RuntimeError("natural history unavailable in this test")

    monkeypatch.setattr(sys.modules["poi_ode.simulate"], "natural_history", unavailable)
    frame = run_checks(["mouse"])
    failed = frame[frame["note"].str.contains("natural history unavailable in this test")]
    assert len(failed) >= 4
    assert failed["model"].isna().all() and not failed["passed"].any()
    castrate = frame.set_index("check").loc["mouse FSH without follicles = FSH_castrate"]
    assert np.isfinite(castrate["model"])  # checks that do not need the natural history still run


# --- the definitions --------------------------------------------------------------------------
def test_final_menstrual_period_starts_the_first_year_without_an_expected_ovulation():
    age = np.linspace(0.0, 70.0, 7001)
    ovulated = 13.0 * np.clip(age - 12.0, 0.0, 50.0 - 12.0)  # 13 a year from 12 to 50 y
    assert final_menstrual_period(age, ovulated) == pytest.approx(50.0 - 1 / 13, abs=1e-3)
    tail = 13.0 * np.clip(age - 12.0, 0.0, 38.0) + 0.5 * np.clip(age - 50.0, 0.0, None)  # a tail of 1 per 2 y
    # 13 (50 - a) + 0.5 (a + 1 - 50) = 1 at a = 49.96: the sparse tail does not postpone the FMP
    assert final_menstrual_period(age, tail) == pytest.approx((13 * 50 - 0.5 * 49 - 1) / 12.5, abs=1e-3)
    with pytest.raises(ValueError, match="no FMP"):
        final_menstrual_period(age, np.zeros_like(age))
    with pytest.raises(ValueError, match="before the FMP horizon"):
        final_menstrual_period(age[age < 60], ovulated[age < 60])


def test_change_points_of_a_piecewise_linear_series_are_recovered():
    t = np.arange(-10.0, 5.0 + 1e-9, 0.05)
    y = 1.0 + 0.02 * t + 0.1 * np.maximum(t + 6.1, 0) + 0.4 * np.maximum(t + 2.05, 0) \
        - 0.35 * np.maximum(t + 0.2, 0) - 0.17 * np.maximum(t - 2.0, 0)
    assert np.allclose(change_points(t, y, 4), [-6.1, -2.05, -0.2, 2.0], atol=0.02)


def test_faddy_gosden_curve_passes_through_its_points_and_continues_the_last_phase():
    points = [(0.0, 7e5), (37.5, 2.5e4), (50.4, 1e3)]
    ages = np.array([0.0, 20.0, 37.5, 50.4, 55.0])
    curve = faddy_gosden_curve(ages, points)
    assert np.allclose(curve[[0, 2, 3]], np.log10([7e5, 2.5e4, 1e3]), atol=1e-12)
    # log-linear in between: at 20 y the first phase has run 20/37.5 of its log drop
    assert curve[1] == pytest.approx(np.log10(7e5) + 20 / 37.5 * np.log10(2.5e4 / 7e5), abs=1e-12)
    slope = np.log10(1e3 / 2.5e4) / (50.4 - 37.5)
    assert curve[4] == pytest.approx(3.0 + slope * 4.6, abs=1e-12)


def test_the_refit_reserve_bar_is_no_easier_than_the_published_curve(written):
    """The published curve is a member of the refit's family, so the least-squares refit cannot lose to it."""
    rows = _csv(written[1]).set_index("check")
    published = rows.loc["reserve curve against the follicle counts"]
    refit = rows.loc["reserve curve against the counts, stricter"]
    assert refit["published"] <= published["published"]
    assert published["model"] == refit["model"]
    for row in (published, refit):
        assert bool(row["passed"]) == (row["model"] <= row["published"])
