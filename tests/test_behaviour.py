"""The behaviour a modeller checks first (shared/design/MODEL.md), for human, mouse and rat."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import insult_for

import poi_ode as po
from poi_ode.simulate import frozen_and_sinks, start_age

# When to treat after the insult and when to read the effect: about one follicle transit
# after the cells (mouse: 19 days of folliculogenesis; human: antral and late preantral stages);
# the human window runs two years, as effects on the preantral chain reach AMH over a year.
# The rat runs on the mouse schedule and doses: its follicle timing is the mouse's (an assumption of rat.toml).
SCHEDULE = {"human": dict(treat=120.0, read=210.0, end=730.0), "mouse": dict(treat=14.0, read=42.0, end=120.0),
            "rat": dict(treat=14.0, read=42.0, end=120.0)}


@pytest.fixture(scope="module", params=["human", "mouse", "rat"])
def species_model(request, human, mouse, rat) -> po.Model:
    """Every bundled species (this module adds the rat to the shared human/mouse fixture)."""
    return {"human": human, "mouse": mouse, "rat": rat}[request.param]


def _cells(model) -> float:
    """The reference MSC dose: 1e6 cells in rodents (the usual mouse and rat doses), 1e7 in women."""
    return 1e7 if model.species == "human" else 1e6


def _schedule(model):
    return SCHEDULE[model.species]


def _arm(model, extra=(), params=None):
    s = _schedule(model)
    return po.simulate(model, insult_for(model) + list(extra), times=np.arange(0.0, s["end"] + 1), params=params)


@pytest.fixture(scope="module")
def untreated(species_model):
    return _arm(species_model)


def test_start_state_is_steady_and_the_reference_state_in_the_normal_ranges(species_model):
    """The natural history starts from a quasi-steady state (held: the primordial pool, the
    clock); the state it reaches at the reference age lies in the set's sourced normal ranges."""
    model = species_model
    y = po.healthy_state(model, age=start_age(model.parameter_set))
    p = model.compiled.prepare(model.parameter_set.vector(model))
    frozen, sinks = frozen_and_sinks(model)
    free = ~(frozen | sinks)
    rate = model.compiled.rhs(0.0, y, p)
    np.testing.assert_allclose(rate[free], 0.0, atol=1e-9 * max(1.0, np.abs(y).max()))
    y = po.initial_state(model)
    ranges = model.parameter_set.info["ranges"]
    assert ranges, "each species set states normal ranges with sources"
    for analyte, r in ranges.items():
        value = y[model.index[analyte]]
        assert model.state(analyte).unit == r["unit"]
        assert r["low"] <= value <= r["high"], (analyte, value, r)


def _published(study_id: str, analyte: str) -> float:
    """A published value of the validation targets (copied by code from shared/evidence)."""
    from poi_ode.validation import load_targets

    return next(t["value"] for t in load_targets().values() if (t["study_id"], t["analyte"]) == (study_id, analyte))


@pytest.mark.parametrize("start", [15.0, 25.0, 35.0, 45.0])
def test_menopause_comes_at_49_to_53_years_whatever_the_start_age(human, start):
    """NGF falls below 1,000 and FSH rises above 25 IU/L at 49-53 y (issue 10's window around the
    mean age at natural menopause of Wallace and Kelsey 2004, 50.4 y at about 1,000 NGF), for a
    woman started at any age: the healthy state is integrated from birth, not set from anchors."""
    mean_age = _published("WallaceKelsey2004_FaddyGosden", "age at natural menopause")
    assert 49.0 <= mean_age <= 53.0
    tr = po.simulate(human, None, times=np.linspace(0.0, (60.0 - start) * 365.25, 3001), age=start)
    age = start + tr.time / 365.25
    assert 49.0 <= age[np.argmax(tr["F_prim"] < 1000.0)] <= 53.0
    assert 49.0 <= age[np.argmax(tr["FSH"] > 25.0)] <= 53.0


def test_a_woman_started_at_any_age_follows_the_course_from_birth(human):
    """Within 15% in the reserve and AMH at every later age (issue 10), for starts from 15 to 45 y."""
    from_birth = po.natural_history(human, 55.0, step_days=365.25 / 4)
    for start in (15.0, 30.0, 45.0):
        later = from_birth["age"] >= start
        times = (from_birth["age"][later] - start) * 365.25
        tr = po.simulate(human, None, times=times, age=start)
        for name in ("F_prim", "AMH"):
            np.testing.assert_allclose(tr[name], from_birth[name][later], rtol=0.15, err_msg=f"{name}, start {start}")


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
    reference = _cells(model)
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


def _pooled_smd(outcome: str, subgroup: str) -> float:
    """Random-effects SMD of the MSC meta-analysis (Front Endocrinol 2023, Table 2), read from shared/evidence."""
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "shared" / "evidence" / "meta_msc_preclinical.csv"
    if not path.exists():
        pytest.skip("shared/evidence is not beside the checkout")
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["outcome"] == outcome and r["subgroup"] == subgroup
                and r["model"] == "random"]
    return float(rows[0]["estimate"])


@pytest.mark.xfail(strict=True, reason="issue 12: even calibrated on the pooled effects, the rodent models give "
                   "intravenous cells about 0.4 of the intraovarian AMH effect (the held-out intraovarian E2 row of "
                   "docs/evidence.md is above its interval); the woman's therapy is translated from that calibration")
def test_intravenous_and_intraovarian_cells_act_alike(species_model, untreated):
    """Route changes the pooled rodent effect little: E2 SMD intravenous 2.91 vs intraovarian 2.40
    (random effects, Front Endocrinol 2023 Table 2). The model's AMH effects of the two routes
    must agree within a factor 2 (the review's criterion, defect 1)."""
    published = _pooled_smd("E2", "route IV") / _pooled_smd("E2", "route intraovarian")
    assert 0.5 <= published <= 2.0
    model = species_model
    s = _schedule(model)
    effect = {}
    for route in ("intraovarian", "intravenous"):
        tr = _arm(model, [po.Dose(s["treat"], "msc", _cells(model), "cells", route)])
        effect[route] = tr.at(s["read"], "AMH") - untreated.at(s["read"], "AMH")
    assert effect["intraovarian"] > 0
    assert 0.5 <= effect["intravenous"] / effect["intraovarian"] <= 2.0


def _effect_fade_time(tr, untreated, start, variable):
    """Days from the dose until the effect on ``variable`` falls below half its maximum after its peak."""
    effect = tr[variable] - untreated[variable]
    peak = int(np.argmax(effect))
    below = np.flatnonzero(effect[peak:] < 0.5 * effect[peak])
    return tr.time[peak + below[0]] - start if below.size else np.inf  # inf: not within the simulated window


def test_exosome_effect_fades_sooner_than_msc_of_comparable_potency(species_model, untreated):
    """The paracrine effect of vesicles fades sooner than that of cells giving the same peak (vesicles do not
    secrete). Read on the signal Phi: the follicles it rescues after chemotherapy stay, so AMH need not fade."""
    model = species_model
    s = _schedule(model)
    cells = _cells(model)
    msc = _arm(model, [po.Dose(s["treat"], "msc", cells, "cells", "intraovarian")])
    target = msc["Phi"].max()
    lo, hi = 1.0, 1e6  # µg; bisect on the peak paracrine effect
    for _ in range(40):
        mid = np.sqrt(lo * hi)
        peak = _arm(model, [po.Dose(s["treat"], "exosome", mid, "ug", "intraovarian")])["Phi"].max()
        lo, hi = (mid, hi) if peak < target else (lo, mid)
    exo = _arm(model, [po.Dose(s["treat"], "exosome", np.sqrt(lo * hi), "ug", "intraovarian")])
    assert exo["Phi"].max() == pytest.approx(target, rel=1e-3)
    fade = _effect_fade_time(exo, untreated, s["treat"], "Phi")
    assert np.isfinite(fade), "the vesicles' effect must fade within the simulated window"
    assert fade < _effect_fade_time(msc, untreated, s["treat"], "Phi")


def test_activating_treatment_spends_reserve_years_later(species_model):
    """With paracrine activation of primordial follicles, treatment lowers the pool years later."""
    model = species_model
    years = 3 if model.species == "human" else 1
    horizon = years * 365.25
    monthly = list(po.Dose(0, "msc", _cells(model), "cells").repeat(30, 6))
    results = {}
    for b in (0.0, model.parameter_set["b_act_P"].upper):
        params = {"b_act_P": b}
        untreated = po.simulate(model, None, times=[0, horizon], params=params)
        treated = po.simulate(model, monthly, times=[0, horizon], params=params)
        results[b] = treated.at(horizon, "F_prim") / untreated.at(horizon, "F_prim")
    activating, protective = results[model.parameter_set["b_act_P"].upper], results[0.0]
    assert activating < 1.0
    assert activating < protective
