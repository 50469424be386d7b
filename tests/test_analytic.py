"""Closed-form solutions of the linear kinetics, and dose events."""
from __future__ import annotations

import numpy as np
import pytest

import poi_ode as po
from poi_ode import native
from poi_ode.model import compose

LN2 = np.log(2.0)
TIGHT = dict(rtol=1e-10, atol=1e-12)  # analytic comparisons at 1e-6 need a tighter solver


@pytest.fixture(params=["rodas", "LSODA"])
def tight(request, human):
    """Tight tolerances, for the compiled engine and for scipy's LSODA in turn."""
    if request.param == "rodas" and native.available(human):
        pytest.skip(f"compiled engine unavailable: {native.available(human)}")
    return dict(TIGHT, method=request.param)
TIMES = np.array([0.0, 0.001, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0])


def _days(model, name):
    return model.parameter_set[name].in_unit("day")


def _bateman(amount, k_in, k_out, t):
    """Amount in a compartment fed first-order (rate k_in) from a bolus, emptied at k_out."""
    return amount * k_in / (k_out - k_in) * (np.exp(-k_in * t) - np.exp(-k_out * t))


@pytest.fixture
def uncoupled(human):
    """Human parameters with damage-enhanced homing switched off."""
    return human.parameter_set.with_values(h_home_D=0.0)


@pytest.mark.parametrize("amount", [2e4, 2e6, 2e8])
def test_intraovarian_msc_decay_matches_closed_form(human, uncoupled, amount, tight):
    """dM/dt = -k M (1 + M/K): M(t) = K M0 e^(-kt) / (K + M0 (1 - e^(-kt))); near-exponential for M0 << K."""
    # a chemotherapy dose at the same time must not change the kinetics once coupling is off
    regimen = po.Regimen([po.Dose(0, "msc", amount, "cells", "intraovarian"),
                          po.Dose(0, "cyclophosphamide", 40, "mg/kg")])
    tr = po.simulate(human, regimen, times=TIMES, params=uncoupled, **tight)
    k = LN2 / _days(human, "t_half_M_ov")
    cap = human.parameter_set["M_capacity"].value
    decay = np.exp(-k * TIMES)
    np.testing.assert_allclose(tr["M_ov"], cap * amount * decay / (cap + amount * (1 - decay)), rtol=1e-6)
    if amount < 1e-2 * cap:
        np.testing.assert_allclose(tr["M_ov"], amount * decay, rtol=2 * amount / cap)


def test_intravenous_msc_chain_matches_closed_form(human, uncoupled, tight):
    amount = 1e6
    regimen = po.Regimen([po.Dose(0, "msc", amount, "cells", "intravenous"), po.Dose(0, "busulfan", 10, "mg/kg")])
    tr = po.simulate(human, regimen, times=TIMES, params=uncoupled, **tight)
    a = LN2 / _days(human, "t_half_M_circ")
    b = LN2 / _days(human, "t_half_M_lung")
    c = LN2 / _days(human, "t_half_M_ov")
    # crowding off as far as bounds allow: homed cells (< 2e3) / capacity (1e9) < 2e-6
    uncoupled = uncoupled.with_values(M_capacity=uncoupled["M_capacity"].upper)
    tr = po.simulate(human, regimen, times=TIMES, params=uncoupled, **tight)
    f_lung, f_home = uncoupled["f_lung"].value, uncoupled["f_home"].value
    np.testing.assert_allclose(tr["M_iv"], amount * np.exp(-a * TIMES), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(tr["M_lung"], f_lung * _bateman(amount, a, b, TIMES), rtol=1e-6, atol=1e-6)
    ovary = (1 - f_lung) * f_home * _bateman(amount, a, c, TIMES)
    np.testing.assert_allclose(tr["M_ov"], ovary, rtol=1e-5, atol=1e-6)


def test_damage_raises_homing_when_coupled(human):
    """The coupling the analytic tests switch off is real: damage raises ovarian homing."""
    iv = po.Dose(0, "msc", 1e6, "cells", "intravenous")
    plain = po.simulate(human, [iv], times=[0, 1])
    damaged = po.simulate(human, [iv, po.Dose(0, "cyclophosphamide", 100, "mg/kg")], times=[0, 1])
    assert damaged.at(1, "M_ov") > plain.at(1, "M_ov") * 1.0001


@pytest.mark.parametrize("route", ["intravenous", "depot", "intraovarian"])
def test_exosome_kinetics_match_closed_form(human, route, tight):
    amount = 100.0
    tr = po.simulate(human, [po.Dose(0, "exosome", amount, "ug", route)], times=TIMES, **tight)
    k_pl = LN2 / _days(human, "t_half_X_pl")
    k_ov = LN2 / _days(human, "t_half_X_ov")
    k_dep = LN2 / _days(human, "t_half_X_dep")
    f_ov = human.parameter_set["f_X_ov"].value
    if route == "intravenous":
        np.testing.assert_allclose(tr["X_pl"], amount * np.exp(-k_pl * TIMES), rtol=1e-6, atol=1e-9)
        expected = f_ov * _bateman(amount, k_pl, k_ov, TIMES)
    elif route == "depot":
        np.testing.assert_allclose(tr["X_dep"], amount * np.exp(-k_dep * TIMES), rtol=1e-6)
        expected = _bateman(amount, k_dep, k_ov, TIMES)
    else:
        expected = amount * np.exp(-k_ov * TIMES)
    np.testing.assert_allclose(tr["X_ov"], expected, rtol=1e-6, atol=1e-9)


def test_chemotherapy_elimination_and_primordial_kill(human, tight):
    """Insult and follicles alone, burn-out off: the kill leaves exp(-kappa * eliminated dose)."""
    model = compose(["insult", "follicles"], units=human.parameter_set.info["units"])
    params = human.parameter_set.with_values(b_act_D=0.0)
    model.attach(params)
    dose = 30.0
    y0 = {"F_prim": 1e4}
    times = np.array([0.0, 0.05, 0.2, 0.5, 1.0, 3.0])
    treated = po.simulate(model, [po.Dose(0, "cyclophosphamide", dose, "mg/kg")], times=times, initial=y0, **tight)
    control = po.simulate(model, None, times=times, initial=y0, **tight)
    k = LN2 / _days(human, "t_half_cyclophosphamide")
    kappa = params["kill_cyclophosphamide"].value
    np.testing.assert_allclose(treated["A_cyclophosphamide"], dose * np.exp(-k * times), rtol=1e-6)
    ratio = treated["F_prim"] / control["F_prim"]
    np.testing.assert_allclose(ratio, np.exp(-kappa * dose * (1 - np.exp(-k * times))), rtol=1e-6)


def test_dose_event_adds_exactly_its_amount(human):
    day = 10.0
    first = po.Dose(0, "msc", 3e6, "cells", "intraovarian")
    second = po.Dose(day, "msc", 2.0, "million_cells", "intraovarian")
    chemo = po.Dose(day, "cyclophosphamide", 750, "mg/m2")
    times = [0.0, 5.0, day, 12.0]
    with_dose = po.simulate(human, [first, second, chemo], times=times)
    without = po.simulate(human, [first], times=times)
    assert with_dose.at(5, "M_ov") == without.at(5, "M_ov")
    assert with_dose.at(day, "M_ov") - without.at(day, "M_ov") == pytest.approx(2e6, rel=1e-12)
    km = human.parameter_set["km_factor"].value
    assert with_dose.at(day, "A_cyclophosphamide") == pytest.approx(750 / km, rel=1e-12)


def test_exosome_particles_convert_with_the_particle_ratio(human):
    ratio = human.parameter_set["particles_per_ug"].value
    by_mass = po.simulate(human, [po.Dose(0, "exosome", 50, "ug", "intraovarian")], times=[0, 1])
    by_count = po.simulate(human, [po.Dose(0, "exosome", 50 * ratio, "particles", "intraovarian")], times=[0, 1])
    np.testing.assert_allclose(by_count["X_ov"], by_mass["X_ov"], rtol=1e-12)
