"""Chemotherapy by agent and stage (issue 11): analytic kills, dose units, protocols, calibration."""
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import poi_ode as po
from poi_ode.errors import DosingError
from poi_ode.fitting.insult import calibrate_insult, rat_body_potencies, species_of, write_potencies
from poi_ode.model.follicles import KILLED_STAGES, STAGES
from poi_ode.protocols import PROTOCOLS, protocol

LN2 = math.log(2.0)
EVIDENCE = Path(__file__).resolve().parents[2] / "shared" / "evidence"


def _days(model, name):
    return model.parameter_set[name].in_unit("day")


@pytest.mark.parametrize("sensitivity", [1.0, 2.5])
def test_growing_kill_is_exp_of_sensitivity_potency_and_eliminated_dose(human, sensitivity):
    """Insult and follicles alone, no damage: each killed stage keeps exp(-s kappa_g x eliminated dose) of its
    untreated course; primary follicles are spared."""
    model = po.load_model("human", modules=["insult", "follicles"])
    params = human.parameter_set.with_values(damage_doxorubicin=0.0, chemo_sensitivity=sensitivity)
    model.attach(params)
    first = {stage: next(s.name for s in model.states if s.name in (f"F_{stage}", f"F_{stage}_1")) for stage in STAGES}
    y0 = {"F_prim": 0.0, first["pri"]: 500.0, first["sec"]: 300.0, first["sa"]: 20.0}  # no activation
    dose = 2.0
    times = np.array([0.0, 0.1, 0.5, 1.0, 2.0, 4.0])
    tight = dict(rtol=1e-10, atol=1e-12)
    treated = po.simulate(model, [po.Dose(0, "doxorubicin", dose, "mg/kg")], times=times, initial=y0, **tight)
    control = po.simulate(model, None, times=times, initial=y0, **tight)
    k = LN2 / _days(human, "t_half_doxorubicin")
    kappa = params["kill_growing_doxorubicin"].value
    expected = np.exp(-sensitivity * kappa * dose * (1 - np.exp(-k * times)))
    for stage in KILLED_STAGES[:2]:  # fed only by killed stages here (no primary follicle matures in 4 days)
        np.testing.assert_allclose(treated[f"F_{stage}"] / control[f"F_{stage}"], expected, rtol=1e-4)
    if "pri" not in KILLED_STAGES:
        np.testing.assert_allclose(treated["F_pri"], control["F_pri"], rtol=1e-9)


def test_a_dose_in_mg_is_divided_by_the_body_weight(human):
    weight = human.parameter_set["body_weight"].in_unit("kg")
    traj = po.simulate(human, [po.Dose(0, "cyclophosphamide", 100.0, "mg", "oral")], times=[0.0, 1e-9])
    assert traj["A_cyclophosphamide"][0] == pytest.approx(100.0 / weight, rel=1e-9)


def test_protocols_start_where_asked_and_refuse_unknown_names():
    regimen = protocol("AC", cycles=2, start=10.0)
    assert min(d.time for d in regimen) == 10.0
    assert {d.agent for d in regimen} == {"doxorubicin", "cyclophosphamide"}
    with pytest.raises(DosingError, match="unknown chemotherapy protocol 'XYZ'.*AC"):
        protocol("XYZ")
    with pytest.raises(DosingError, match="cycles must be >= 1"):
        protocol("CMF", cycles=0)


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_protocol_simulates_in_every_species(human, mouse, rat, name):
    for model in (human, mouse, rat):
        regimen = protocol(name, cycles=1)
        traj = po.simulate(model, regimen, times=[0.0, max(d.time for d in regimen) + 1.0])
        assert np.all(np.isfinite(traj["AMH"]))


def test_bundled_potencies_are_the_calibration_of_the_evidence(human, mouse, rat, tmp_path):
    """The parameter files carry what poi_ode.fitting.insult computes from the targets and the evidence
    sheets (rerun it with ``python -m poi_ode.fitting.insult --write`` after a model change); each value
    goes only to the files its species names (the rat's are its own rows)."""
    potencies = rat_body_potencies(EVIDENCE) + calibrate_insult()
    models = {"human": human, "mouse": mouse, "rat": rat}
    checked = set()
    for p in potencies:
        for species in species_of(p):
            pset = models[species].parameter_set
            value = pset[p.parameter].in_unit(p.unit)
            assert value == pytest.approx(p.value, rel=1e-3, abs=1e-9), (species, p.parameter)
            assert pset[p.parameter].kind == p.kind, (species, p.parameter)
            checked.add((species, p.parameter))
    assert {("rat", "kill_cyclophosphamide"), ("rat", "kill_cisplatin"), ("rat", "body_weight"),
            ("mouse", "kill_cisplatin"), ("human", "a_atr_D")} <= checked
    assert ("mouse", "a_atr_D") not in checked and ("mouse", "kill_cyclophosphamide") not in checked
    folder = tmp_path / "parameters"
    folder.mkdir()
    for species in ("human", "mouse", "rat"):
        src = po.__file__.replace("__init__.py", f"parameters/{species}.toml")
        (folder / f"{species}.toml").write_text(open(src, encoding="utf-8").read(), encoding="utf-8")
    written = write_potencies([replace(p, value=p.value * 2, derivation="doubled") for p in potencies], folder)
    assert "human: a_atr_D" in written and "mouse: a_atr_D" not in written and "rat: a_atr_D" not in written
    assert "rat: kill_cyclophosphamide" in written and "mouse: kill_cyclophosphamide" not in written
    text = (folder / "human.toml").read_text(encoding="utf-8")
    assert 'source = "fitted: doubled (poi_ode.fitting.insult)"' in text
    rat_text = (folder / "rat.toml").read_text(encoding="utf-8")
    assert 'kind = "assumption"\nsource = "assumption: doubled (poi_ode.fitting.insult)"' in rat_text
    block = rat_text[rat_text.index("[parameters.kill_cyclophosphamide]"):]
    doubled = float(block.split("value = ", 1)[1].split("\n", 1)[0])
    assert doubled == pytest.approx(2 * rat.parameter_set["kill_cyclophosphamide"].value, rel=1e-3)


def test_bundled_mouse_reserve_is_its_calibration_and_keeps_the_reference_state(mouse, rat):
    """The mouse (and the rat, as mouse) carry what poi_ode.fitting.mouse_reserve computes from Gosden 1983's
    near-exhaustion age; the calibration moves k_act and F_prim_start along their constant product, which leaves
    the growing pools of the 8-week reference state untouched (checked against the set before the calibration:
    3,000 follicles, k_act from the neutral-restraint formula)."""
    from poi_ode.fitting.mouse_reserve import calibrate_mouse_reserve, exhaustion_age
    from poi_ode.validation.targets import load_targets

    values = calibrate_mouse_reserve()
    models = {"mouse": mouse, "rat": rat}
    for p in values:
        (species,) = p.species
        assert models[species].parameter_set[p.parameter].value == pytest.approx(p.value, rel=1e-6), p
    target = load_targets()["mouse_exhaustion_age"]
    assert target["low"] <= exhaustion_age(mouse) <= target["high"]
    before = {"F_prim_start": 3000.0, "k_act": math.log(3000 / 300) / ((13.5 / 12 - 8 / 52.18) * 365.25)}
    old, new = po.simulate(mouse, None, times=[0.0], params=before), po.simulate(mouse, None, times=[0.0])
    assert exhaustion_age(mouse, before) < target["low"]
    for name in ("F_pri", "F_sec", "AFC", "AMH", "FSH", "InhB", "ovulation_rate"):
        assert new[name][0] == pytest.approx(old[name][0], rel=1e-6), name
    assert new["F_prim"][0] == pytest.approx(values[1].value, rel=1e-9)
