"""The POI ovary that can respond, the virtual POI population and responder fractions (issue 11)."""
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import poi_ode as po
from poi_ode.cli import main
from poi_ode.errors import ParameterError
from poi_ode.population import load_population, responder_endpoint, responder_fraction
from poi_ode.population.endpoints import MONTH
from poi_ode.population.targets import build_population_targets, population_targets_path

SHARED = Path(__file__).resolve().parents[2] / "shared"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared is not beside the checkout")


class _Fake:
    """A trajectory stand-in: given values of variables on given days."""

    def __init__(self, time, **values):
        self.time = np.asarray(time, float)
        self._values = {k: np.asarray(v, float) for k, v in values.items()}

    def __getitem__(self, name):
        return self._values[name]


def test_responsiveness_relaxes_as_the_analytic_solution(human):
    """Module alone at constant FSH: R(t) = R* + (R0 - R*) exp(-k (1 + delta x) t), x = (FSH/FSH_des)^n."""
    model = po.load_model("human", modules=["responsiveness"])
    pset = model.parameter_set
    times = np.array([0.0, 3.0, 10.0, 30.0])
    traj = po.simulate(model, None, times=times, initial={"R_FSH": 0.05}, rtol=1e-10, atol=1e-12)
    k = math.log(2) / pset["t_half_resensitisation"].in_unit("day")
    n = pset.info["structure"]["desensitisation_exponent"]["value"]
    x = (pset["FSH_ref"].value / pset["FSH_desensitisation"].value) ** n
    rate = k * (1 + pset["dysfunction"].value * x)
    steady = k / rate
    np.testing.assert_allclose(traj["R_FSH"], steady + (0.05 - steady) * np.exp(-rate * times), rtol=1e-7)


def test_fsh_two_samples_below_matches_enumeration():
    """The two-state chain equals the sum over all 2^K below/above outcomes of K noisy samples."""
    pop = load_population()
    ep = responder_endpoint("fsh_below_25_twice", 0.0, 5 * MONTH)
    days = 0.0 + MONTH * np.arange(6)
    fsh = np.array([40.0, 26.0, 22.0, 30.0, 24.0, 27.0])
    from scipy.special import ndtr
    p = ndtr((math.log(25.0) - np.log(fsh)) / pop.fsh_sample_sd)
    total = 0.0
    for outcome in itertools.product([0, 1], repeat=days.size):
        weight = np.prod([p[i] if o else 1 - p[i] for i, o in enumerate(outcome)])
        if any(a and b for a, b in zip(outcome, outcome[1:])):
            total += weight
    assert ep(_Fake(days, FSH=fsh), pop) == pytest.approx(total, rel=1e-12)


def test_ovulation_event_is_poisson_and_e2_any_sample_above():
    pop = load_population()
    ovulation = responder_endpoint("ovulation", 0.0, 365.0)
    assert ovulation(_Fake([0.0, 365.0], F_ovulated=[3.0, 3.7]), pop) == pytest.approx(1 - math.exp(-0.7))
    e2 = responder_endpoint("e2_above_50", 0.0, 2 * MONTH)
    from scipy.special import ndtr
    levels = np.array([30.0, 60.0, 45.0])
    p = ndtr((np.log(levels) - math.log(50.0)) / pop.e2_sample_sd)
    days = MONTH * np.arange(3)
    assert e2(_Fake(days, E2_early_follicular=levels), pop) == pytest.approx(1 - np.prod(1 - p))


@pytest.mark.parametrize("name, window, match", [
    ("menopause", (0, 365), "unknown responder endpoint 'menopause'"),
    ("ovulation", (100, 10), "0 <= start < end"),
    ("fsh_below_25_twice", (0, 10), "at least a month"),
])
def test_bad_responder_endpoints_are_named(name, window, match):
    with pytest.raises(ParameterError, match=match):
        responder_endpoint(name, *window)


def test_population_file_errors_name_the_field(tmp_path):
    text = Path(po.population.population_path()).read_text(encoding="utf-8")
    broken = tmp_path / "pop.toml"
    broken.write_text(text.replace("reserve_log10_sd = {", "reserve_log10_spread = {"), encoding="utf-8")
    with pytest.raises(ParameterError, match="reserve_log10_sd"):
        load_population(broken)
    broken.write_text(text.replace("fsh_sample_sd = { value = 0.25", "fsh_sample_sd = { value = -1"), encoding="utf-8")
    with pytest.raises(ParameterError, match="fsh_sample_sd is -1"):
        load_population(broken)


@needs_shared
def test_bundled_population_targets_are_read_from_the_evidence(tmp_path):
    text = build_population_targets(SHARED, tmp_path / "t.csv")
    assert text == population_targets_path().read_text(encoding="utf-8")


def test_a_zero_dose_responds_as_untreated_and_untreated_women_resume(human):
    """Must show: the untreated column is not zero; a zero dose is the untreated arm exactly."""
    res = responder_fraction(human, [po.Dose(0, "msc", 0.0, "cells", "intraovarian")], n=40, window=(0, 365))
    assert res.fraction == pytest.approx(res.untreated_fraction, rel=1e-9)
    assert 0.02 < res.untreated_fraction < 0.9
    assert res.untreated_lower <= res.untreated_fraction <= res.untreated_upper


def test_the_population_calibration_reproduces_the_bundled_values(human):
    """The files carry what poi_ode.population.calibrate computes (rerun it with --write). The least
    squares stop within about 1e-4 relative of the optimum, so 2e-3."""
    from poi_ode.population.calibrate import calibrate_e2_share, calibrate_population, e2_floor_from_evidence

    floor, _ = e2_floor_from_evidence(human)
    assert human.parameter_set["E2_floor"].value == pytest.approx(floor, rel=1e-12)
    share, _ = calibrate_e2_share(human)
    assert human.parameter_set["e2_early_follicular_share"].value == pytest.approx(share, rel=1e-6)
    fit = calibrate_population(human)
    bundled = load_population()
    for name in ("reserve_log10_mean", "reserve_log10_sd", "dysfunction_log10_mean", "dysfunction_log10_sd"):
        assert getattr(bundled, name) == pytest.approx(getattr(fit.population, name), rel=2e-3, abs=1e-4), name


def test_responders_command_writes_the_table(tmp_path):
    out = tmp_path / "r"
    assert main(["responders", "--agent", "msc", "--route", "intraovarian", "--doses", "5e6,1e7", "--window", "0-365",
                 "--n", "20", "--out", str(out)]) == 0
    table = pd.read_csv(out / "responders.csv")
    assert list(table.columns) == ["dose", "endpoint", "window", "fraction", "lower", "upper", "untreated_fraction"]
    assert len(table) == 6 and set(table["window"]) == {"0-365"}
    assert (table.loc[table["endpoint"] == "ovulation", "untreated_fraction"] > 0).all()
    assert (out / "responders.png").stat().st_size > 0
    assert main(["responders", "--doses", "1e6", "--window", "a-b", "--out", str(out)]) == 2


def test_the_early_follicular_share_gives_jains_day3_estradiol_for_any_floor(human):
    """Simulated with the share it computes, a woman of 22.5 y has Jain 2003's cycle-day-3 E2."""
    from poi_ode.population.calibrate import JAIN_AGE, calibrate_e2_share
    from poi_ode.validation.targets import load_targets

    jain = load_targets()["e2_day3_20_25_jain"]["value"]
    for floor in (5.0, 20.0):
        share, text = calibrate_e2_share(human, floor=floor)
        pset = human.parameter_set.with_values({"E2_floor": floor, "e2_early_follicular_share": share})
        traj = po.simulate(human, None, times=[0.0, 1.0], params=pset, initial="healthy", age=JAIN_AGE)
        assert float(traj["E2_early_follicular"][0]) == pytest.approx(jain, rel=1e-6), floor
        assert f"E2_floor ({floor:.4g})" in text
