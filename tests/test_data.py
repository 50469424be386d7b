"""Datasets: format, validation that names every planted error, unit harmonisation, import paths."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import poi_ode as po
from poi_ode.data import (
    DatasetError,
    analyte_factor,
    list_datasets,
    load_dataset,
    provenance_columns,
    read_dataset,
    read_digitized,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
GOOD = """study_id,arm,species,time_days,analyte,statistic,value,unit,n,spread_type,spread,censored,regimen
S1,control,mouse,7,AMH,mean,2.5,ng/mL,8,SD,0.4,,0:cyclophosphamide:120:mg/kg:intraperitoneal
S1,control,mouse,14,FSH,mean,12,ng/mL,8,SEM,1.5,,0:cyclophosphamide:120:mg/kg:intraperitoneal
S1,control,mouse,14,AMH,mean,7.14,pmol/L,8,SD,0.714,,0:cyclophosphamide:120:mg/kg:intraperitoneal
"""


def _frame(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def test_bundled_datasets_keep_every_provenance_column():
    assert set(list_datasets()) >= {"clinical_secondary", "griesinger2012_amh_elimination"}
    for name in list_datasets(kind="observations"):  # pooled effects: tests/test_pooled.py
        d = load_dataset(name)
        for col in ("citation", "doi_or_pmcid", "source_location", "confidence", "notes", "population", "condition"):
            assert col in provenance_columns(d), (name, col)
        assert d.frame["citation"].str.len().min() > 20


@pytest.mark.skipif(not SHARED.exists(), reason="shared/ is not beside the checkout")
def test_bundled_datasets_equal_the_curated_files():
    """No number enters the project except through shared/: copies of shared/data are identical
    (the sets converted from shared/evidence by code are checked in test_evidence.py)."""
    from poi_ode.data.evidence import CONVERTED_DATASETS

    for name in list_datasets(kind="observations"):  # pooled effects: tests/test_pooled.py
        if name in CONVERTED_DATASETS:
            continue
        bundled = Path(po.data.__file__).parent / "bundled" / f"{name}.csv"
        assert (SHARED / f"{name}.csv").read_bytes() == bundled.read_bytes()


def test_units_are_harmonised():
    d = read_dataset(_frame(GOOD))
    f = d.frame
    # 7.14 pmol/L AMH is 1 ng/mL (MODEL.md's factor); SD converts with it
    assert f.loc[2, "value_std"] == pytest.approx(1.0)
    assert f.loc[2, "spread_std"] == pytest.approx(0.1)
    assert f.loc[0, "se_std"] == pytest.approx(0.4 / np.sqrt(8))
    assert f.loc[1, "se_std"] == pytest.approx(1.5)
    assert list(f["unit_std"]) == ["ng/mL", "ng/mL", "ng/mL"]  # mouse FSH stays a mass concentration


@pytest.mark.parametrize(
    "analyte, unit, std, factor",
    [("AMH", "pmol/L", "ng/mL", 1 / 7.14), ("E2", "pmol/L", "pg/mL", 1 / 3.671), ("FSH", "mIU/ml", "IU/L", 1.0),
     ("InhB", "ng/L", "pg/mL", 1.0), ("E2", "pg/mL", "pmol/L", 3.671), ("AMH", "ng/mL", "ng/mL", 1.0)],
)
def test_unit_conversion_and_round_trip(analyte, unit, std, factor):
    assert analyte_factor(analyte, unit, std) == pytest.approx(factor)
    assert analyte_factor(analyte, unit, std) * analyte_factor(analyte, std, unit) == pytest.approx(1.0)


def test_validation_reports_every_planted_error_with_row_and_column():
    broken = """study_id,arm,species,time_days,analyte,statistic,value,unit,n,spread_type,spread,censored,regimen
S1,a,mouse,7,AMH,mean,2.5,ng/mL,8,SD,0.4,,
S1,a,mouse,7,AMH,mean,2.5,ng/mL,8,SD,0.4,,
S1,a,mouse,x,AMH,mean,2.5,ng/mL,8,SD,0.4,,
S1,a,mouse,9,Prolactin,mean,2.5,ng/mL,8,SD,0.4,,
S1,a,mouse,10,AMH,mean,2.5,furlongs,8,SD,0.4,,
S1,a,mouse,11,AMH,mean,-1,ng/mL,8,SD,0.4,,
S1,a,mouse,12,AMH,mean,lots,ng/mL,8,SD,0.4,,
S1,a,mouse,13,AMH,mean,2.5,ng/mL,,SD,0.4,,
S1,a,mouse,-2,AMH,mean,2.5,ng/mL,8,SD,0.4,,
S1,a,mouse,15,AMH,average,2.5,ng/mL,8,SD,0.4,,
S1,a,mouse,16,AMH,mean,2.5,ng/mL,8,SD,0.4,maybe,
S1,b,mouse,1,AMH,mean,2.5,ng/mL,8,none,,,3:msc:1e6:cells:intraovarian
S1,c,dragon,17,AMH,mean,2.5,ng/mL,8,SD,0.4,,
S1,a,mouse,18,FSH,mean,2.5,ng/mL,2.5,SD,0.4,,
"""
    with pytest.raises(DatasetError) as info:
        read_dataset(_frame(broken), "broken.csv")
    found = {(p.row, p.column) for p in info.value.problems}
    expected = {
        (3, None),  # duplicate
        (4, "time_days"),  # not a number
        (5, "analyte"),
        (6, "unit"),
        (7, "value"),  # negative
        (8, "value"),  # not a number
        (9, "n"),  # spread without n
        (10, "time_days"),  # before day 0
        (11, "statistic"),
        (12, "censored"),
        (13, "time_days"),  # before the arm's first dose (day 3)
        (14, "species"),
        (15, "n"),  # not a whole number
    }
    assert expected <= found, expected - found
    assert "broken.csv" in str(info.value) and "row 6, column 'unit'" in str(info.value)


def test_missing_columns_are_named():
    with pytest.raises(DatasetError, match="column 'analyte': required column is missing"):
        read_dataset(pd.DataFrame({"study_id": ["a"], "arm": ["b"]}))


def test_missing_file():
    with pytest.raises(DatasetError, match="file not found"):
        read_dataset("no_such_file.csv")


def test_read_digitized_marks_provenance(tmp_path):
    # WebPlotDigitizer "all datasets" export: series names on the first header row, X/Y below
    csv = tmp_path / "wpd.csv"
    csv.write_text(
        "control,,MSC,,MSC upper,\nX,Y,X,Y,X,Y\n1,2.0,1,2.5,1,2.9\n2,1.5,2,2.2,2,2.6\n", encoding="utf-8"
    )
    d = read_digitized(
        csv,
        {"control": dict(arm="control", analyte="AMH", unit="ng/mL", n=6),
         "MSC": dict(arm="msc", analyte="AMH", unit="ng/mL", n=6, spread_type="SEM", spread_series="MSC upper")},
        study_id="FIG1", species="mouse", citation="A test figure", source_location="Figure 2B", time_unit="week",
    )
    f = d.frame
    assert list(f["time_days"]) == [7.0, 14.0, 7.0, 14.0]
    assert set(f["digitised"]) == {"yes"} and set(f["source_location"]) == {"Figure 2B"}
    assert f.loc[2, "se_std"] == pytest.approx(0.4)


def test_read_digitized_unknown_series(tmp_path):
    csv = tmp_path / "wpd.csv"
    csv.write_text("control,\nX,Y\n1,2\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="series not in the file"):
        read_digitized(csv, {"treated": dict(arm="t", analyte="AMH", unit="ng/mL")}, study_id="F", species="mouse",
                       citation="c", source_location="Fig 1")
