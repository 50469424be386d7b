"""Pooled effects: the converter is reproducible and value-faithful; the reader names row and column of bad input."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pandas as pd
import pytest

import poi_ode as po
from poi_ode.data import (
    DatasetError,
    PooledEffectsError,
    dataset_kinds,
    list_datasets,
    load_dataset,
    load_pooled_effects,
    read_pooled_effects,
)
from poi_ode.data.evidence import ConversionError
from poi_ode.data.evidence_pooled import POOLED_DATASET, POOLED_SKIPPED_FILE, convert_pooled_effects, main
from poi_ode.errors import PoiOdeError
from poi_ode.mbma import se_from_ci

EVIDENCE = Path(__file__).resolve().parents[2] / "shared" / "evidence"
BUNDLED = Path(po.data.__file__).parent / "bundled"
needs_evidence = pytest.mark.skipif(
    not EVIDENCE.exists(), reason="../shared/evidence (the team's evidence sheets) is not beside the checkout"
)

# where each bundled column comes from in the two sheets (string for string)
MSC_SOURCE = dict(estimate="estimate", ci_low="ci_low", ci_high="ci_high", k_studies="k_studies", n_treated="n_msc",
                  n_control="n_control", I2_percent="I2_percent", subgroup="subgroup", source_url="source_url",
                  source_location="source_location")
EV_SOURCE = dict(estimate="SMD", ci_low="CI95_low", ci_high="CI95_high", k_studies="n_studies", n_total="n_animals",
                 I2_percent="I2", subgroup="subgroup", source_url="source_url", source_location="source_location")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _bundled() -> list[dict[str, str]]:
    return _rows(BUNDLED / f"{POOLED_DATASET}.csv")


# --- the converter --------------------------------------------------------------------------------


@needs_evidence
def test_rerunning_the_converter_reproduces_the_bundled_files(tmp_path):
    written = convert_pooled_effects(EVIDENCE, tmp_path)
    assert {p.name for p in written} == {f"{POOLED_DATASET}.csv", POOLED_SKIPPED_FILE}
    for path in written:
        assert path.read_bytes() == (BUNDLED / path.name).read_bytes(), f"{path.name} is stale: rerun the converter"


@needs_evidence
def test_command_line_entry_writes_the_same_files(tmp_path, capsys):
    assert main([str(EVIDENCE), str(tmp_path)]) == 0
    assert f"{POOLED_DATASET}.csv: " in capsys.readouterr().out
    assert (tmp_path / f"{POOLED_DATASET}.csv").read_bytes() == (BUNDLED / f"{POOLED_DATASET}.csv").read_bytes()


def _sheet(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@needs_evidence
def test_unusable_rows_go_to_the_ledger_with_the_reason(tmp_path):
    """Rows changed on purpose: reversed interval, no number, unknown outcome and subgroup, a repeated result."""
    msc = _rows(EVIDENCE / "meta_msc_preclinical.csv")
    ev = _rows(EVIDENCE / "meta_ev_preclinical.csv")
    msc[0]["ci_low"], msc[0]["ci_high"] = msc[0]["ci_high"], msc[0]["ci_low"]  # file row 2
    msc[2]["estimate"] = "n/a"  # file row 4
    msc[4]["outcome"] = "whisker length"  # file row 6
    msc[6]["subgroup"] = "hamsters"  # file row 8
    ev[1]["SMD"], ev[1]["CI95_low"], ev[1]["CI95_high"] = ev[0]["SMD"], ev[0]["CI95_low"], ev[0]["CI95_high"]
    _sheet(tmp_path / "meta_msc_preclinical.csv", msc)
    _sheet(tmp_path / "meta_ev_preclinical.csv", ev)
    table, ledger = convert_pooled_effects(tmp_path, tmp_path / "out")
    reasons = {(r["evidence_file"], r["evidence_row"]): r["reason"]
               for r in _rows(ledger) if r["decision"] == "skipped"}
    msc_name = "meta_msc_preclinical.csv"
    assert "interval printed reversed" in reasons[(msc_name, "2")]
    assert "not all numbers" in reasons[(msc_name, "4")]
    assert "outcome 'whisker length'" in reasons[(msc_name, "6")]
    assert "subgroup 'hamsters'" in reasons[(msc_name, "8")]
    kept = {(r["evidence_file"], r["evidence_row"]): r for r in _rows(table)}
    assert not {(msc_name, "2"), (msc_name, "4"), (msc_name, "6"), (msc_name, "8")} & set(kept)
    assert "copy error" in kept[("meta_ev_preclinical.csv", "3")]["flag"]
    assert "copy error" not in kept[("meta_ev_preclinical.csv", "2")]["flag"]


def test_missing_evidence_is_an_error(tmp_path):
    with pytest.raises(ConversionError, match="not found"):
        convert_pooled_effects(tmp_path / "nowhere", tmp_path / "out")
    assert main([str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 1


@needs_evidence
def test_every_bundled_value_equals_the_evidence_string_at_its_row():
    sheets = {name: {str(k + 2): r for k, r in enumerate(_rows(EVIDENCE / name))}
              for name in ("meta_msc_preclinical.csv", "meta_ev_preclinical.csv")}
    rows = _bundled()
    assert rows
    for row in rows:
        ev = sheets[row["evidence_file"]][row["evidence_row"]]
        source = MSC_SOURCE if row["evidence_file"] == "meta_msc_preclinical.csv" else EV_SOURCE
        for col, ev_col in source.items():
            printed = ev[ev_col].strip()
            if col == "I2_percent" and printed.endswith("%"):
                printed = printed[:-1]  # "97.32%" -> "97.32", the only change allowed
            if row[col] != printed:
                # a count that is not a whole number is left blank, the printed text kept in evidence_*
                assert col in ("k_studies", "n_treated", "n_control", "n_total") and row[col] == "", (row, col)
                assert row[f"evidence_{col}"] == ev[ev_col] and printed, (row, col)
        assert row["evidence_outcome"] == ev["outcome"]
        assert row["notes"].startswith(ev["notes"])  # provenance copied, converter's remarks appended


@needs_evidence
def test_every_evidence_row_is_bundled_or_in_the_ledger():
    bundled = {(r["evidence_file"], r["evidence_row"]) for r in _bundled()}
    ledger = _rows(BUNDLED / POOLED_SKIPPED_FILE)
    skipped = {(r["evidence_file"], r["evidence_row"]) for r in ledger if r["decision"] == "skipped"}
    assert not bundled & skipped
    for name in ("meta_msc_preclinical.csv", "meta_ev_preclinical.csv"):
        n = len(_rows(EVIDENCE / name))
        assert {(name, str(k + 2)) for k in range(n)} == {x for x in bundled | skipped if x[0] == name}
    assert all(r["reason"] for r in ledger)


def test_bundled_table_rules():
    f = load_pooled_effects(POOLED_DATASET)
    assert set(f["therapy"]) == {"msc", "exosome"}
    assert f["effect_id"].is_unique
    # the E2-intravenous EV row repeats the AMH-intravenous row: flagged, the AMH row is not
    ev = f[(f["therapy"] == "exosome") & (f["subgroup_kind"] == "route") & (f["subgroup_value"] == "intravenous")]
    e2, amh = ev[ev["analyte"] == "E2"].iloc[0], ev[ev["analyte"] == "AMH"].iloc[0]
    assert (e2["estimate"], e2["ci_low"], e2["ci_high"]) == (amh["estimate"], amh["ci_low"], amh["ci_high"])
    assert "copy error" in e2["flag"] and amh["flag"] == ""
    # single-study subgroups are flagged
    assert (f.loc[f["k_studies"] == 1, "flag"].str.contains("single-study")).all()
    # "29 studies overall" is not this outcome's k
    total = f[(f["therapy"] == "exosome") & (f["analyte"] == "total_follicles")].iloc[0]
    assert math.isnan(total["k_studies"]) and total["evidence_k_studies"] == "29 studies overall"
    # percentages parsed, abstract rows on a mirror are medium confidence and say so
    assert 97.32 in set(f["I2_percent"])
    mirror = f[f["source_url"].str.contains("scite")]
    assert len(mirror) and (mirror["confidence"] == "medium").all() and mirror["notes"].str.contains("copy").all()
    assert (f.loc[f["source_location"].str.startswith("Table"), "confidence"] == "high").all()


def test_se_column_is_the_ci_half_width_over_z():
    f = load_pooled_effects(POOLED_DATASET)
    for _, row in f.iterrows():
        lo, hi = (math.log(row["ci_low"]), math.log(row["ci_high"])) if row["measure"] == "RR" else (
            row["ci_low"], row["ci_high"])
        assert row["se"] == pytest.approx(se_from_ci(lo, hi, row["ci_level"]))


def test_bundled_intervals_are_symmetric_about_their_estimates():
    """A transcription check independent of the converter: a normal-approximation interval is symmetric about the
    estimate (on the log scale for a ratio) up to the rounding of the printed numbers (3 decimals at most)."""
    f = load_pooled_effects(POOLED_DATASET)
    ratio = f["measure"] == "RR"
    lo = f["ci_low"].where(~ratio, f["ci_low"].clip(lower=1e-300).map(math.log))
    hi = f["ci_high"].where(~ratio, f["ci_high"].clip(lower=1e-300).map(math.log))
    est = f["estimate"].where(~ratio, f["estimate"].clip(lower=1e-300).map(math.log))
    gap = (est - (lo + hi) / 2).abs()
    assert (gap[~ratio] <= 0.0101).all(), f.loc[gap > 0.0101, "effect_id"].tolist()
    assert (gap[ratio] <= 0.01).all()


# --- the catalogue ---------------------------------------------------------------------------------


def test_pooled_table_is_listed_with_its_kind_and_refused_by_load_dataset():
    assert POOLED_DATASET in list_datasets() and POOLED_DATASET in po.list_datasets()
    assert dataset_kinds()[POOLED_DATASET] == "pooled_effects"
    assert list_datasets(kind="pooled_effects") == [POOLED_DATASET]
    assert POOLED_DATASET not in list_datasets(kind="observations")
    assert f"{POOLED_DATASET}_skipped" not in list_datasets()
    with pytest.raises(DatasetError, match="load_pooled_effects"):
        load_dataset(POOLED_DATASET)
    with pytest.raises(DatasetError, match="load_dataset"):
        load_pooled_effects("human_amh_by_age")
    with pytest.raises(DatasetError, match="no bundled dataset"):
        load_pooled_effects("nope")
    with pytest.raises(DatasetError, match="kind 'tidy'"):
        list_datasets(kind="tidy")


def test_cli_lists_the_pooled_table(capsys):
    from poi_ode.cli import main as cli

    assert cli(["datasets"]) == 0
    assert f"{POOLED_DATASET} (pooled effects): " in capsys.readouterr().out
    assert cli(["datasets", POOLED_DATASET]) == 0
    assert "FENDO2023_1165574:E2:overall=all:random" in capsys.readouterr().out


# --- bad input -------------------------------------------------------------------------------------

GOOD = (
    "effect_id,therapy,meta_analysis,analyte,subgroup_kind,subgroup_value,measure,estimate,ci_low,ci_high,ci_level,"
    "pooling,k_studies,n_treated,n_control,I2_percent,confidence\n"
) + """A1,msc,META,E2,overall,all,SMD,2.5,1.5,3.5,0.95,random,10,80,80,85,high
A2,exosome,META,FSH,route,intravenous,SMD,-2,-3,-1,0.95,fixed,4,,,0,medium
A3,msc,META,pregnancies,overall,all,RR,1.7,1.2,2.4,0.95,not stated,,,,,
"""


def _replace(row: int, column: str, value: str) -> pd.DataFrame:
    """GOOD with one cell changed; ``row`` as in the file (header = 1)."""
    f = pd.read_csv(io.StringIO(GOOD), dtype=str, keep_default_na=False)
    f.loc[row - 2, column] = value
    return f


def test_a_good_table_reads():
    f = read_pooled_effects(pd.read_csv(io.StringIO(GOOD), dtype=str, keep_default_na=False))
    assert list(f["row"]) == [2, 3, 4]
    assert f.loc[0, "se"] == pytest.approx(2 / (2 * 1.959964), rel=1e-6)
    assert f.loc[2, "se"] == pytest.approx((math.log(2.4) - math.log(1.2)) / (2 * 1.959964), rel=1e-6)
    assert math.isnan(f.loc[2, "k_studies"]) and f.loc[2, "citation"] == ""


@pytest.mark.parametrize(
    "row, column, value, match",
    [
        (2, "estimate", "big", r"row 2, column 'estimate': 'big' is not a number"),
        (3, "ci_low", "-1.5", r"row 3, column 'estimate': estimate -2 is outside its interval \[-1.5, -1\]"),
        (2, "ci_low", "4", r"row 2, column 'ci_low': ci_low 4 > ci_high 3.5: the interval is reversed"),
        (2, "measure", "OR", r"row 2, column 'measure': 'OR' is not one of"),
        (3, "pooling", "bayesian", r"row 3, column 'pooling': 'bayesian' is not one of"),
        (2, "subgroup_kind", "strain", r"row 2, column 'subgroup_kind': 'strain' is not one of"),
        (2, "therapy", "stem cells", r"row 2, column 'therapy'"),
        (2, "analyte", "oestrogen", r"row 2, column 'analyte': 'oestrogen' is not one of"),
        (2, "k_studies", "0", r"row 2, column 'k_studies': '0' is not a whole number >= 1"),
        (2, "n_treated", "7.5", r"row 2, column 'n_treated': '7.5' is not a whole number >= 1"),
        (3, "I2_percent", "100", r"row 3, column 'I2_percent': '100' is not a percentage in \[0, 100\)"),
        (3, "I2_percent", "-3", r"row 3, column 'I2_percent'"),
        (2, "ci_level", "95", r"row 2, column 'ci_level': '95' is not a level in \(0, 1\)"),
        (4, "ci_low", "0", r"row 4, column 'ci_low': 0 is not > 0: a RR is a ratio"),
        (3, "effect_id", "A1", r"row 3, column 'effect_id': 'A1' repeats row 2"),
        (2, "estimate", "", r"row 2, column 'estimate': empty"),
        (2, "confidence", "sure", r"row 2, column 'confidence'"),
        (2, "subgroup_value", "rat", r"row 2, column 'subgroup_value': 'rat': an overall effect"),
    ],
)
def test_bad_cell_names_row_and_column(row, column, value, match):
    with pytest.raises(PooledEffectsError, match=match) as info:
        read_pooled_effects(_replace(row, column, value))
    assert isinstance(info.value, PoiOdeError)
    assert [(p.row, p.column) for p in info.value.problems] == [(row, "estimate" if "outside" in match else column)]


def test_missing_column_and_file_rows(tmp_path):
    f = pd.read_csv(io.StringIO(GOOD), dtype=str, keep_default_na=False).drop(columns=["ci_high"])
    with pytest.raises(PooledEffectsError, match="column 'ci_high': required column is missing"):
        read_pooled_effects(f)
    path = tmp_path / "effects.csv"
    path.write_text(GOOD.replace("A2,exosome,META,FSH,route,intravenous,SMD,-2", "A2,exosome,META,FSH,route,"
                                 "intravenous,SMD,minus two"), encoding="utf-8")
    with pytest.raises(PooledEffectsError, match=r"effects.csv: 1 problem.*\n  row 3, column 'estimate'"):
        read_pooled_effects(path)
    path.write_text(GOOD + "A4,msc,META\n", encoding="utf-8")
    with pytest.raises(PooledEffectsError, match="row 5: has 3 fields, the header has 17"):
        read_pooled_effects(path)
    with pytest.raises(PooledEffectsError, match="file not found"):
        read_pooled_effects(tmp_path / "absent.csv")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(PooledEffectsError, match="the file is empty: expected a header row with the columns effect_id"):
        read_pooled_effects(tmp_path / "empty.csv")


def test_every_problem_is_listed_at_once():
    f = _replace(2, "estimate", "x")
    f.loc[1, "measure"] = "OR"
    with pytest.raises(PooledEffectsError) as info:
        read_pooled_effects(f)
    assert {(p.row, p.column) for p in info.value.problems} == {(2, "estimate"), (3, "measure")}
