"""The behaviour a modeller checks first (shared/design/MODEL.md), for human and mouse."""
from __future__ import annotations

import numpy as np
import pytest

import poi_ode as po
from conftest import insult_for
from poi_ode.simulate import _frozen_and_sinks

# When to treat after the insult and when to read the effect: about one follicle transit
# after the cells (mouse: 19 days of folliculogenesis; human: antral and late preantral stages).
SCHEDULE = {"human": dict(treat=120.0, read=210.0, end=400.0), "mouse": dict(treat=14.0, read=42.0, end=120.0)}


def _schedule(model):
    return SCHEDULE[model.species]


def _arm(model, extra=(), params=None):
    s = _schedule(model)
    return po.simulate(model, insult_for(model) + list(extra), times=np.arange(0.0, s["end"] + 1), params=params)


@pytest.fixture(scope="module")
def untreated(species_model):
    return _arm(species_model)


def test_healthy_state_is_a_steady_state_in_the_normal_ranges(species_model):
    model = species_model
    y = po.initial_state(model)
    p = model.compiled.prepare(model.parameter_set.vector(model))
    frozen, sinks = _frozen_and_sinks(model)
    free = ~(frozen | sinks)
    rate = model.compiled.rhs(0.0, y, p)
    np.testing.assert_allclose(rate[free], 0.0, atol=1e-9 * max(1.0, np.abs(y).max()))
    ranges = model.parameter_set.info["ranges"]
    assert ranges, "each species set states normal ranges with sources"
    for analyte, r in ranges.items():
        value = y[model.index[analyte]]
        assert model.state(analyte).unit == r["unit"]
        assert r["low"] <= value <= r["high"], (analyte, value, r)


def test_human_reserve_declines_over_years_to_menopause(human):
    years = np.arange(0, 26)
    tr = po.simulate(human, None, times=years * 365.25)  # from the reference age of 30
    f_prim = tr["F_prim"]
    assert np.all(np.diff(f_prim) < 0)
    # the model's own dynamics reach the sourcebook's ~1,000 follicles at 50.5 y within a factor 5
    at_menopause = np.exp(np.interp(20.5, years, np.log(f_prim)))
    assert 200 < at_menopause < 5000
    # and FSH crosses the POI/menopause threshold of 25 IU/L between 45 and 55 years of age
    crossing = 30 + np.interp(25.0, tr["FSH"], years)
    assert 45 < crossing < 55


def test_insult_lowers_amh_and_raises_fsh(species_model, untreated):
    model = species_model
    healthy = po.simulate(model, None, times=untreated.time)
    read = _schedule(model)["treat"]
    assert untreated.at(read, "AMH") < 0.7 * healthy.at(read, "AMH")
    assert untreated.at(read, "FSH") > 1.3 * healthy.at(read, "FSH")
    assert untreated.at(read, "F_prim") < 0.8 * healthy.at(read, "F_prim")
    assert untreated.at(read, "C_pro") > healthy.at(read, "C_pro") or untreated["C_pro"].max() > 1.05


def test_msc_dose_response_is_monotonic_and_saturating(species_model, untreated):
    model = species_model
    s = _schedule(model)
    reference = 1e6 if model.species == "mouse" else 1e7
    doses = reference * np.geomspace(1e-2, 1e2, 5)
    amh, fsh = [], []
    for dose in doses:
        tr = _arm(model, [po.Dose(s["treat"], "msc", dose, "cells", "intraovarian")])
        amh.append(tr.at(s["read"], "AMH") - untreated.at(s["read"], "AMH"))
        fsh.append(tr.at(s["read"], "FSH") - untreated.at(s["read"], "FSH"))
    amh, fsh = np.array(amh), np.array(fsh)
    assert np.all(amh > 0) and np.all(fsh < 0)
    assert np.all(np.diff(amh) > 0) and np.all(np.diff(fsh) < 0)
    # saturation: the last decade of dose adds less than half of the largest decade step
    assert np.diff(amh)[-1] < np.diff(amh).max() / 2
    assert -np.diff(fsh)[-1] < -np.diff(fsh).min() / 2


def test_intraovarian_beats_the_same_intravenous_dose(species_model, untreated):
    model = species_model
    s = _schedule(model)
    effect = {}
    for route in ("intraovarian", "intravenous"):
        tr = _arm(model, [po.Dose(s["treat"], "msc", 1e6 if model.species == "mouse" else 1e7, "cells", route)])
        effect[route] = tr.at(s["read"], "AMH") - untreated.at(s["read"], "AMH")
    assert effect["intravenous"] > 0
    assert effect["intraovarian"] > 2 * effect["intravenous"]


def _effect_fade_time(tr, untreated, start):
    """Days from the dose until the AMH effect falls below half its maximum after its peak."""
    effect = tr["AMH"] - untreated["AMH"]
    peak = int(np.argmax(effect))
    below = np.flatnonzero(effect[peak:] < 0.5 * effect[peak])
    assert below.size, "the effect must fade within the simulated window"
    return tr.time[peak + below[0]] - start


def test_exosome_effect_fades_sooner_than_msc_of_comparable_potency(species_model, untreated):
    model = species_model
    s = _schedule(model)
    cells = 1e6 if model.species == "mouse" else 1e7
    msc = _arm(model, [po.Dose(s["treat"], "msc", cells, "cells", "intraovarian")])
    target = msc["Phi"].max()
    lo, hi = 1.0, 1e6  # µg; bisect on the peak paracrine effect
    for _ in range(40):
        mid = np.sqrt(lo * hi)
        peak = _arm(model, [po.Dose(s["treat"], "exosome", mid, "ug", "intraovarian")])["Phi"].max()
        lo, hi = (mid, hi) if peak < target else (lo, mid)
    exo = _arm(model, [po.Dose(s["treat"], "exosome", np.sqrt(lo * hi), "ug", "intraovarian")])
    assert exo["Phi"].max() == pytest.approx(target, rel=1e-3)
    assert _effect_fade_time(exo, untreated, s["treat"]) < _effect_fade_time(msc, untreated, s["treat"])


def test_activating_treatment_spends_reserve_years_later(species_model):
    """With paracrine activation of primordial follicles, treatment lowers the pool years later."""
    model = species_model
    years = 3 if model.species == "human" else 1
    horizon = years * 365.25
    monthly = list(po.Dose(0, "msc", 1e7 if model.species == "human" else 1e6, "cells").repeat(30, 6))
    results = {}
    for b in (0.0, model.parameter_set["b_act_P"].upper):
        params = {"b_act_P": b}
        untreated = po.simulate(model, None, times=[0, horizon], params=params)
        treated = po.simulate(model, monthly, times=[0, horizon], params=params)
        results[b] = treated.at(horizon, "F_prim") / untreated.at(horizon, "F_prim")
    activating, protective = results[model.parameter_set["b_act_P"].upper], results[0.0]
    assert activating < 1.0
    assert activating < protective
