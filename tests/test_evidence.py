"""Natural-history evidence converted by code: reproducible, value-faithful, on the age axis."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

import poi_ode as po
from poi_ode.data import DatasetError, is_age_axis, iter_arms, list_datasets, load_dataset, read_dataset
from poi_ode.data.evidence import (
    CONVERTED_DATASETS,
    SEP,
    SKIPPED_FILE,
    ConversionError,
    convert_natural_history,
    main,
)

EVIDENCE = Path(__file__).resolve().parents[2] / "shared" / "evidence"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BUNDLED = Path(po.data.__file__).parent / "bundled"
needs_evidence = pytest.mark.skipif(
    not EVIDENCE.exists(), reason="../shared/evidence (the team's evidence sheets) is not beside the checkout"
)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _evidence_by_row() -> dict[str, dict[str, str]]:
    return {str(k + 2): row for k, row in enumerate(_rows(EVIDENCE / "natural_history.csv"))}


def _frame(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


# --- the converter --------------------------------------------------------------------------


@needs_evidence
def test_rerunning_the_converter_reproduces_the_bundled_files(tmp_path):
    written = convert_natural_history(EVIDENCE, tmp_path)
    assert {p.name for p in written} == {f"{n}.csv" for n in CONVERTED_DATASETS} | {SKIPPED_FILE}
    for path in written:
        assert path.read_bytes() == (BUNDLED / path.name).read_bytes(), path.name


@needs_evidence
def test_command_line_entry_writes_the_same_files(tmp_path, capsys):
    assert main([str(EVIDENCE), str(tmp_path)]) == 0
    assert "human_follicle_counts.csv: 110 rows" in capsys.readouterr().out
    assert (tmp_path / "human_amh_by_age.csv").read_bytes() == (BUNDLED / "human_amh_by_age.csv").read_bytes()


def test_missing_evidence_is_an_error_not_an_empty_dataset(tmp_path):
    with pytest.raises(ConversionError, match="not found"):
        convert_natural_history(tmp_path / "nowhere", tmp_path / "out")
    assert main([str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 1


@needs_evidence
def test_follicle_counts_that_disagree_with_the_dat_file_stop_the_converter(tmp_path):
    (tmp_path / "natural_history.csv").write_bytes((EVIDENCE / "natural_history.csv").read_bytes())
    lines = (EVIDENCE / "human_follicle_counts_by_age.dat").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("706000", "706001")
    (tmp_path / "human_follicle_counts_by_age.dat").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConversionError, match="disagree"):
        convert_natural_history(tmp_path, tmp_path / "out")


@needs_evidence
@pytest.mark.parametrize("name", CONVERTED_DATASETS)
def test_every_bundled_value_equals_the_evidence_value_it_came_from(name):
    evidence = _evidence_by_row()
    rows = _rows(BUNDLED / f"{name}.csv")
    assert rows
    for row in rows:
        assert row["evidence_file"] == "natural_history.csv"
        ev = evidence[row["evidence_row"]]
        where = f"{name} evidence row {row['evidence_row']}"
        for col in ("study_id", "arm", "species", "statistic"):
            if col != "study_id" or name != "human_follicle_counts":
                assert row[col] == ev[col].strip(), (where, col)
        # provenance verbatim (the converter only appends after SEP)
        for col in ("citation", "doi_or_pmcid", "source_location", "source_url"):
            assert row[col] == ev[col], (where, col)
        for col in ("confidence", "notes"):
            assert row[col] == ev[col] or row[col].startswith(ev[col] + SEP), (where, col)
        # the original fields are kept as printed
        for col in ("time_days", "age_years", "analyte", "value", "unit", "n", "spread_type", "spread", "censored",
                    "regimen"):
            assert row[f"evidence_{col}"] == ev[col], (where, col)
        # the value: copied, or, if censored, the limit copied from the row's notes
        if row["censored"] == "below":
            assert float(ev["value"]) == 0.0
            assert re.search(r"<\s*" + re.escape(row["value"]) + r"\s*" + re.escape(row["unit"]), ev["notes"]), where
        else:
            assert row["value"] == ev["value"].strip(), where
        # the age: copied, or the midpoint of a printed range whose ends are kept
        if row["age_low"]:
            lo, hi = re.fullmatch(r"\s*([\d.]+)\s*-\s*([\d.]+)\s*", ev["age_years"]).groups()
            assert (row["age_low"], row["age_high"]) == (lo, hi), where
            assert float(row["age_years"]) == (float(lo) + float(hi)) / 2, where
            assert "midpoint" in row["notes"], where
        else:
            assert row["age_years"] == ev["age_years"].strip(), where
        if row["spread"]:
            assert (row["spread_type"], row["spread"]) == (ev["spread_type"].strip(), ev["spread"].strip()), where
        if row["n"]:
            assert row["n"] == ev["n"].strip(), where
        assert row["time_days"] == "" and row["regimen"] == "", where


@needs_evidence
def test_follicle_counts_match_the_dat_file_line_by_line():
    dat = [line.split() for line in (EVIDENCE / "human_follicle_counts_by_age.dat").read_text().splitlines()]
    rows = _rows(BUNDLED / "human_follicle_counts.csv")
    for row in rows:
        age, count, source = dat[int(row["dat_row"]) - 1]
        assert (float(row["age_years"]), float(row["value"]), row["source_code"]) == (float(age), float(count), source)
    assert len({r["subject"] for r in rows}) == 110


@needs_evidence
def test_nothing_disappears_silently():
    """Every candidate evidence row is in a dataset or in the ledger, with a reason."""
    evidence = _evidence_by_row()
    ledger = _rows(BUNDLED / SKIPPED_FILE)
    assert all(r["reason"].strip() for r in ledger)
    kept = {(n, r["evidence_row"]) for n in CONVERTED_DATASETS for r in _rows(BUNDLED / f"{n}.csv")}
    skipped = {(r["target_dataset"], r["evidence_row"]) for r in ledger if r["decision"] == "skipped"}
    assert not kept & skipped
    for number, ev in evidence.items():
        if ev["study_id"] == "deKat2016_Doetinchem":
            assert {("human_amh_by_age", number)} & (kept | skipped), number
        if ev["study_id"] in ("AgeFSHinhibin_cross", "smFollicle_Block_Richardson_Gougeon"):
            assert any(number == k[1] for k in kept | skipped), number
    reasons = {r["evidence_row"]: r["reason"] for r in ledger if r["decision"] == "skipped"}
    # time-to-menopause rows have no age; immunoreactive inhibin is not inhibin B
    assert all("menopause" in reasons[str(k)] for k in range(195, 201))
    assert all("not inhibin-B-specific" in reasons[str(k)] for k in range(92, 96))


# --- the bundled sets through the reader --------------------------------------------------------


def test_converted_sets_are_listed_and_read_on_the_age_axis():
    names = list_datasets()
    assert set(CONVERTED_DATASETS) <= set(names)
    assert SKIPPED_FILE.removesuffix(".csv") not in names
    with pytest.raises(DatasetError, match="no bundled dataset"):
        load_dataset(SKIPPED_FILE.removesuffix(".csv"))
    for name in CONVERTED_DATASETS:
        d = load_dataset(name)
        assert set(d.frame["axis"]) == {"age"} and d.frame["time_days"].isna().all()
        assert all(is_age_axis(rows) for _, rows in iter_arms(d))
        assert (d.frame["value_std"] > 0).all()  # fit-ready for a log-normal error model


def test_follicle_dataset_has_110_women_from_birth_to_51():
    d = load_dataset("human_follicle_counts")
    f = d.frame
    assert len(f) == 110
    ages = f["age_years"].astype(float)
    assert ages.min() == 0 and ages.max() == 51
    assert set(f["analyte"]) == {"primordial"} and set(f["statistic"]) == {"individual"}
    assert set(f["unit"]) == {"follicles"}
    assert f["notes"].str.contains("UNIT UNRESOLVED").all()
    assert sorted(set(f["source_code"])) == ["1", "2", "3", "4"]


def test_amh_zero_median_is_censored_at_the_assay_limit():
    f = load_dataset("human_amh_by_age").frame
    assert list(f["age_years"]) == ["20", "30", "40", "50", "60"]
    zero = f[f["evidence_value"] == "0.00"]
    assert len(zero) == 1 and zero["censored"].item() == "below" and zero["value"].item() == 0.0018
    assert f["n"].isna().all()  # the cohort size is not the number at each age


def test_hormone_dataset_keeps_age_ranges_and_no_immunoreactive_inhibin():
    f = load_dataset("human_fsh_inhibin_e2_by_age").frame
    assert set(f["analyte"]) == {"FSH", "E2", "InhB"}
    assert not f["evidence_analyte"].str.contains("immunoreactive").any()
    ranged = f[f["age_low"] != ""]
    assert len(ranged) and (ranged["age_years"].astype(float)
                            == (ranged["age_low"].astype(float) + ranged["age_high"].astype(float)) / 2).all()


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is not beside the checkout")
def test_bundled_copies_equal_the_curated_files_except_the_converted_sets():
    copied = [n for n in list_datasets(kind="observations") if n not in CONVERTED_DATASETS]
    assert copied
    for name in copied:
        assert (SHARED_DATA / f"{name}.csv").read_bytes() == (BUNDLED / f"{name}.csv").read_bytes()


# --- the age-axis form ------------------------------------------------------------------------

AGE_HEADER = "study_id,arm,species,time_days,age_years,analyte,statistic,value,unit,regimen\n"


def test_age_axis_frame_reads():
    d = read_dataset(_frame(AGE_HEADER + """C,by age,human,,20,AMH,median,3.86,ng/mL,
C,by age,human,,40,AMH,median,0.93,ng/mL,
C,by age,human,,0,AMH,median,1.2,ng/mL,
T,treated,human,7,31,AMH,mean,1.0,ng/mL,0:cyclophosphamide:10:mg/kg:intravenous
T,treated,human,14,31,AMH,mean,0.5,ng/mL,0:cyclophosphamide:10:mg/kg:intravenous
"""))
    f = d.frame
    assert list(f["axis"]) == ["age", "age", "age", "day", "day"]
    assert f["time_days"].iloc[:3].isna().all() and list(f["time_days"].iloc[3:]) == [7.0, 14.0]
    arms = dict(((s, a), rows) for (s, a, _), rows in iter_arms(d))
    assert is_age_axis(arms["C", "by age"]) and not is_age_axis(arms["T", "treated"])
    # without the harmonised column, from the raw columns
    assert is_age_axis(pd.DataFrame({"time_days": ["", ""], "age_years": ["3", "4"]}))
    assert not is_age_axis(pd.DataFrame({"time_days": ["", "2"], "age_years": ["3", "4"]}))


@pytest.mark.parametrize(
    "rows, where, text",
    [
        # mixed axes in one arm: the day-axis row is named
        ("C,a,human,,20,AMH,median,3,ng/mL,\nC,a,human,5,20,AMH,median,2,ng/mL,\n", (3, "time_days"), "mixes"),
        # a regimen on an age-axis arm
        ("C,a,human,,20,AMH,median,3,ng/mL,0:cyclophosphamide:10:mg/kg\n", (2, "regimen"), "age axis"),
        # blank time without an age
        ("C,a,human,,,AMH,median,3,ng/mL,\n", (2, "time_days"),
         "give time_days, or age_years for an observation on the age axis"),
        # negative age on the age axis
        ("C,a,human,,-1,AMH,median,3,ng/mL,\n", (2, "age_years"), ">= 0"),
        ("C,a,human,,old,AMH,median,3,ng/mL,\n", (2, "age_years"), ">= 0"),
        # day axis: the age at day 0 is arm-level
        ("C,a,human,1,20,AMH,mean,3,ng/mL,\nC,a,human,2,30,AMH,mean,2,ng/mL,\n", (2, "age_years"), "different ages"),
    ],
)
def test_malformed_age_axis_rows_are_named(rows, where, text):
    with pytest.raises(DatasetError) as info:
        read_dataset(_frame(AGE_HEADER + rows), "age.csv")
    problems = {(p.row, p.column): p.message for p in info.value.problems}
    assert where in problems, problems
    assert text in problems[where]
    assert f"row {where[0]}, column '{where[1]}'" in str(info.value)


def test_age_zero_is_birth_on_the_age_axis_but_not_an_age_at_day_0():
    read_dataset(_frame(AGE_HEADER + "C,a,human,,0,primordial,individual,700000,follicles,\n"))
    with pytest.raises(DatasetError, match="is not a positive number"):
        read_dataset(_frame(AGE_HEADER + "C,a,human,3,0,AMH,mean,3,ng/mL,\n"))


def test_duplicates_on_the_age_axis_are_told_apart_by_age():
    ok = AGE_HEADER + "C,a,human,,20,AMH,median,3,ng/mL,\nC,a,human,,30,AMH,median,2,ng/mL,\n"
    read_dataset(_frame(ok))
    with pytest.raises(DatasetError, match="duplicate"):
        read_dataset(_frame(ok + "C,a,human,,30,AMH,median,2.5,ng/mL,\n"))


def test_a_blank_time_column_still_names_the_row_when_no_age_column():
    text = "study_id,arm,species,time_days,analyte,statistic,value,unit\nS,a,mouse,,AMH,mean,1,ng/mL\n"
    with pytest.raises(DatasetError, match=re.escape("row 2, column 'time_days': empty: give time_days")):
        read_dataset(_frame(text))


def test_age_axis_from_a_numeric_frame_with_missing_values():
    frame = pd.DataFrame(dict(
        study_id=["C", "C", "T"], arm=["a", "a", "b"], species="human", time_days=[float("nan"), float("nan"), 7.0],
        age_years=[20.0, 40.0, float("nan")], analyte="AMH", statistic="median", value=[3.0, 1.0, 2.0], unit="ng/mL",
    ))
    d = read_dataset(frame)
    assert list(d.frame["axis"]) == ["age", "age", "day"]
    assert [is_age_axis(rows) for _, rows in iter_arms(d)] == [True, False]
