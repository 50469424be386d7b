"""Dose-response, Emax summaries, uncertainty bands, executors and the main job."""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import poi_ode as po
from poi_ode.predict import At, compare_regimens, dose_response, fit_hill, hill, parse_endpoint

INDUCTION = [po.Dose(0, "cyclophosphamide", 120, "mg/kg", "intraperitoneal"),
             po.Dose(0, "busulfan", 30, "mg/kg", "intraperitoneal")]
DOSES = np.geomspace(1e5, 1e7, 5)
ENDPOINTS = ["AMH@42", "FSH@42", "AUC:AMH@14-60", "FSH<14@0-60", "resumed:E2>20@14-60"]


def test_dose_response_equals_direct_simulations(mouse):
    dr = dose_response(mouse, "msc", DOSES, "intraovarian", ENDPOINTS, schedule=[14], background=INDUCTION)
    for i, dose in enumerate(DOSES):
        tr = po.simulate(mouse, INDUCTION + [po.Dose(14, "msc", dose, "cells", "intraovarian")],
                         times=np.arange(0, 61.0))
        assert dr.nominal[i, 0] == pytest.approx(tr.at(42, "AMH"), rel=1e-6)
        assert dr.nominal[i, 1] == pytest.approx(tr.at(42, "FSH"), rel=1e-6)
        assert dr.nominal[i, 2] == pytest.approx(np.trapezoid(tr["AMH"][14:61], tr.time[14:61]), rel=1e-6)
        assert dr.nominal[i, 3] == pytest.approx(np.trapezoid((tr["FSH"] < 14).astype(float), tr.time), abs=1e-9)
    control = po.simulate(mouse, INDUCTION, times=np.arange(0, 61.0))
    assert dr.control[0] == pytest.approx(control.at(42, "AMH"), rel=1e-6)
    table = dr.table
    assert len(table) == len(DOSES) * len(ENDPOINTS)
    assert {"dose", "endpoint", "median", "lower", "upper", "uncertainty", "effect"} <= set(table.columns)


def test_hill_parameters_are_recovered():
    doses = np.geomspace(1e4, 1e8, 12)
    values = hill(doses, 2.0, -5.0, 3e6, 1.4)
    fitted = fit_hill(doses, values, control=2.0)
    assert fitted["E0"] == pytest.approx(2.0, rel=1e-4)
    assert fitted["Emax"] == pytest.approx(-5.0, rel=1e-4)
    assert fitted["ED50"] == pytest.approx(3e6, rel=1e-4)
    assert fitted["hill"] == pytest.approx(1.4, rel=1e-4)


@pytest.fixture(scope="module")
def mouse_fit(mouse):
    from poi_ode.data.synthetic import synthetic_dataset

    regimen = "0:cyclophosphamide:120:mg/kg:intraperitoneal; 0:busulfan:30:mg/kg:intraperitoneal"
    data = synthetic_dataset(mouse, {"ctx": regimen, "msc": regimen + "; 14:msc:1e6:cells:intraovarian"},
                             [14, 28, 42], params={"s_M": 1e-6}, seed=31)
    return po.fit(mouse, data, free=["s_M"])


def test_bands_contain_the_point_prediction_and_widen_with_covariance(mouse, mouse_fit):
    kw = dict(schedule=[14], background=INDUCTION, draws=24, seed=4, executor="serial")
    narrow = dose_response(mouse_fit, "msc", DOSES, "intraovarian", ["AMH@42", "FSH@42"], model=mouse, **kw)
    wide = dose_response(mouse_fit, "msc", DOSES, "intraovarian", ["AMH@42", "FSH@42"], model=mouse, cov_scale=16, **kw)
    t1, t2 = narrow.table, wide.table
    assert (t1["lower"] <= t1["nominal"] + 1e-12).all() and (t1["nominal"] <= t1["upper"] + 1e-12).all()
    assert ((t2["upper"] - t2["lower"]) > (t1["upper"] - t1["lower"])).all()
    assert set(t1["uncertainty"]) == {"parameter uncertainty (calibration)"}
    emax = narrow.emax()
    assert (emax["Emax_lower"] <= emax["Emax"] + 1e-9).all() and (emax["Emax"] <= emax["Emax_upper"] + 1e-9).all()


def test_executor_gives_the_same_table_as_serial(mouse):
    kw = dict(schedule=[14], background=INDUCTION, draws=8, seed=5, uncertainty="population")
    serial = dose_response(mouse, "msc", DOSES[:3], "intraovarian", ["AMH@42"], executor="serial", **kw)
    with ProcessPoolExecutor(max_workers=2) as pool:
        parallel = dose_response(mouse, "msc", DOSES[:3], "intraovarian", ["AMH@42"], executor=pool, **kw)
    np.testing.assert_array_equal(serial.draws, parallel.draws)
    assert serial.table.equals(parallel.table)


def test_uncertainty_kinds_are_labelled(mouse):
    for kind, label in (("population", "between-subject"), ("assumptions", "assumed")):
        dr = dose_response(mouse, "msc", DOSES[:3], "intraovarian", ["AMH@42"], schedule=[14], background=INDUCTION,
                           draws=4, uncertainty=kind, executor="serial")
        assert label in dr.table["uncertainty"].iloc[0] and label in dr.uncertainty_note
    with pytest.raises(po.ParameterError, match="needs a FitResult"):
        dose_response(mouse, "msc", DOSES[:3], endpoints=["AMH@42"], draws=2, uncertainty="fit")


def test_minimum_dose_interpolates_on_log_dose(mouse):
    dr = dose_response(mouse, "msc", DOSES, "intraovarian", ["FSH@42"], schedule=[14], background=INDUCTION)
    target = float(np.mean(dr.nominal[1:3, 0]))
    found = dr.minimum_dose("FSH@42", target, "below")
    assert DOSES[1] < found["nominal"] < DOSES[2]
    assert np.isnan(dr.minimum_dose("FSH@42", 0.0, "below")["nominal"])


def test_regimen_comparison_effects_are_paired(mouse):
    regimens = {
        "none": [],
        "io": [po.Dose(14, "msc", 1e6, "cells", "intraovarian")],
        "iv": [po.Dose(14, "msc", 1e6, "cells", "intravenous")],
    }
    comp = compare_regimens(mouse, regimens, ["AMH@42"], background=INDUCTION, draws=6, uncertainty="assumptions",
                            reference="none", executor="serial")
    t = comp.table.set_index("regimen")
    assert t.loc["none", "effect_lower"] == t.loc["none", "effect_upper"] == 0
    assert t.loc["io", "effect"] > t.loc["iv", "effect"] > 0
    comp.plot()


def test_endpoint_parsing_and_custom_endpoints(mouse):
    assert parse_endpoint("F_prim@5y").day == pytest.approx(5 * 365.25)
    assert parse_endpoint("AMH@12w").day == 84
    with pytest.raises(po.ParameterError, match="cannot read endpoint"):
        parse_endpoint("AMH after a while")
    with pytest.raises(po.ParameterError, match="not a state or output"):
        dose_response(mouse, "msc", DOSES[:3], endpoints=["Prolactin@30"])

    class PeakAMH:
        name = "peak AMH"

        def unit(self, model):
            return model.units()["AMH"]

        def times(self, model):
            return list(range(0, 61))

        def __call__(self, tr):
            return float(tr["AMH"][14:].max())

    dr = dose_response(mouse, "msc", DOSES[:3], "intraovarian", [PeakAMH(), At("AMH", 42)], schedule=[14],
                       background=INDUCTION)
    assert list(dr.table["endpoint"].unique()) == ["peak AMH", "AMH@42"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(doses=[1e6, 1e5]), "increasing"),
        (dict(doses=[-1.0, 1e5]), "positive"),
        (dict(doses=[1e6], agent="aspirin"), "unknown agent"),
        (dict(doses=[1e6], route="nasal"), "unknown route"),
        (dict(doses=[1e6], unit="mg/kg"), "cannot be used"),
        (dict(doses=[1e6], schedule=[400]), "after the last endpoint day"),
        (dict(doses=[1e6], draws=-1), "draws"),
    ],
)
def test_bad_dose_response_arguments(mouse, kwargs, match):
    args = dict(agent="msc", endpoints=["AMH@42"])
    args.update(kwargs)
    with pytest.raises(po.PoiOdeError, match=match):
        dose_response(mouse, **args)


def test_cli_dose_response_end_to_end(tmp_path):
    from poi_ode.cli import main

    code = main(["dose-response", "--species", "mouse", "--agent", "msc", "--doses", "1e5:1e7:4", "--schedule", "14",
                 "--background", "0:cyclophosphamide:120:mg/kg:intraperitoneal", "--endpoints", "AMH@42,FSH@42",
                 "--draws", "3", "--uncertainty", "population", "--serial", "--quiet", "--out", str(tmp_path)])
    assert code == 0
    import pandas as pd

    table = pd.read_csv(tmp_path / "dose_response.csv")
    assert len(table) == 8 and (tmp_path / "dose_response.png").stat().st_size > 10_000
    assert (tmp_path / "emax.csv").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["dose-response", "--doses", "a,b"], "--doses"),
        (["dose-response", "--doses", "1e5", "--endpoints", "AMH@x"], "cannot read"),
        (["dose-response", "--doses", "1e5", "--agent", "aspirin"], "unknown agent"),
        (["dose-response", "--doses", "1e5", "--draws", "-3"], "--draws"),
        (["dose-response", "--doses", "1e5", "--schedule", "x"], "--schedule"),
        (["dose-response"], "required"),
        (["run", "--fits", "/nonexistent-folder"], "no calibration configs"),
    ],
)
def test_cli_bad_arguments(tmp_path, capsys, argv, message):
    from poi_ode.cli import main

    try:
        code = main([*argv, "--out", str(tmp_path)])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_main_job_writes_report_and_figures(tmp_path):
    from pathlib import Path

    from poi_ode.mainjob import run_main_job

    root = Path(__file__).resolve().parents[1]
    written = run_main_job(tmp_path, root / "fits", draws=3, executor="serial")
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    for piece in ("What the data can and cannot say", "Calibrations", "Dose-response", "Emax", "Regimens",
                  "Long-term reserve", "griesinger2012"):
        assert piece in report
    for name in ("dose_response_msc_fit.png", "dose_response_exosome_assumptions.png", "regimens.png", "reserve.png",
                 "dose_response.csv", "emax.csv", "minimum_dose.csv", "summary.json"):
        assert (tmp_path / name).stat().st_size > 100, name
    assert written[0] == tmp_path / "report.md"


def test_dask_local_cluster_gives_the_same_table(mouse):
    """The dask extra: a local cluster on loopback runs the same job through Client.get_executor()."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    kw = dict(schedule=[14], background=INDUCTION, draws=4, seed=6, uncertainty="population")
    serial = dose_response(mouse, "msc", DOSES[:2], "intraovarian", ["AMH@42"], executor="serial", **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        clustered = dose_response(mouse, "msc", DOSES[:2], "intraovarian", ["AMH@42"],
                                  executor=client.get_executor(), **kw)
    np.testing.assert_array_equal(serial.draws, clustered.draws)


def test_compare_regimens_validates_draws_like_dose_response(mouse):
    with pytest.raises(po.ParameterError, match="draws"):
        compare_regimens(mouse, {"none": []}, ["AMH@42"], draws=-2)
