"""The meta-analytic objective: design effects, pooling, control caching, and the evidence term in po.fit."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import poi_ode as po
from poi_ode.errors import ParameterError
from poi_ode.mbma import (
    EvidenceObjective,
    build_targets,
    control_parameters,
    load_designs,
    pool_random,
    simulable,
    smd_variance,
    study_effect,
)

CTX = "0:cyclophosphamide:120:mg/kg:intraperitoneal"


@pytest.fixture(scope="module")
def niche_mouse():
    return po.load_model("mouse", mechanism="niche_repair")


@pytest.fixture(scope="module")
def mouse_designs():
    designs = [d for d in load_designs() if d.therapy == "msc" and d.species == "mouse" and simulable(d).ok]
    assert len(designs) >= 3, "the bundled design table has simulable mouse MSC designs"
    return designs


def _rows(analytes, estimates, half_width=0.5, subgroup=("overall", "all")):
    return pd.DataFrame([dict(effect_id=f"SYN:{a}", therapy="msc", meta_analysis="SYNTHETIC", analyte=a,
                              subgroup="all", subgroup_kind=subgroup[0], subgroup_value=subgroup[1], measure="SMD",
                              pooling="random", estimate=e, ci_low=e - half_width, ci_high=e + half_width,
                              I2_percent=80.0, k_studies=10, flag="") for a, e in zip(analytes, estimates)])


def test_control_parameters_are_exactly_those_a_control_arm_depends_on(niche_mouse):
    """Checked by simulation, independently of the symbolic rule: perturbing a parameter outside the set
    leaves a chemotherapy-only arm unchanged; perturbing one inside changes it."""
    depends = control_parameters(niche_mouse)
    regimen = po.data.parse_regimen(CTX)
    base = po.simulate(niche_mouse, regimen, times=[0, 14, 28])
    for name in ("s_M", "niche_atresia", "p_protect", "t_half_P", "t_half_niche_loss", "s_X"):
        assert name not in depends
        value = niche_mouse.parameter_set[name].value
        upper = niche_mouse.parameter_set[name].upper
        other = po.simulate(niche_mouse, regimen, times=[0, 14, 28], params={name: min(value * 1.5, upper)})
        for var in ("E2", "FSH", "AMH", "F_prim"):
            assert np.allclose(other[var], base[var], rtol=1e-12, atol=0), (name, var)
    for name in ("k_act", "kill_cyclophosphamide", "t_half_repair"):
        assert name in depends
        value = niche_mouse.parameter_set[name].value
        other = po.simulate(niche_mouse, regimen, times=[0, 14, 28], params={name: value * 1.5})
        assert not np.allclose(other["FSH"], base["FSH"], rtol=1e-6), name


def test_study_effect_matches_hedges_g_of_simulated_groups():
    """The SD convention (each group's SD is cv times its mean) against Hedges' g computed the textbook way
    from large samples drawn with that SD."""
    rng = np.random.default_rng(3)
    mean_t, mean_c, cv, n = 30.0, 12.0, 0.4, 200_000
    x_t = rng.normal(mean_t, cv * mean_t, n)
    x_c = rng.normal(mean_c, cv * mean_c, n)
    pooled_sd = math.sqrt(((n - 1) * x_t.var(ddof=1) + (n - 1) * x_c.var(ddof=1)) / (2 * n - 2))
    g_sample = (1 - 3 / (4 * (2 * n) - 9)) * (x_t.mean() - x_c.mean()) / pooled_sd
    g, v = study_effect(mean_t, mean_c, cv, n, n)
    assert g == pytest.approx(g_sample, abs=0.01)
    assert v == pytest.approx(smd_variance(g, n, n))


def test_study_effect_properties():
    g, _ = study_effect(5.0, 5.0, 0.3, 8, 8)
    assert g == 0.0
    up, _ = study_effect(10.0, 5.0, 0.3, 8, 8)
    down, _ = study_effect(5.0, 10.0, 0.3, 8, 8)
    assert up == pytest.approx(-down) and up > 0
    scaled, _ = study_effect(1000.0, 500.0, 0.3, 8, 8)
    assert scaled == pytest.approx(up)  # unit-free
    half, _ = study_effect(10.0, 5.0, 0.6, 8, 8)
    assert half == pytest.approx(up / 2)  # an SMD scales as 1/cv


def test_pooled_prediction_is_the_random_effects_pool_of_the_design_effects(niche_mouse, mouse_designs):
    targets, _ = build_targets(_rows(["E2"], [2.0]), mouse_designs)
    objective = EvidenceObjective({"mouse": niche_mouse}, targets)
    values = {"niche_atresia": 0.8}
    pooled = objective.pooled(values, {"E2": 0.3})[0]
    sims = objective.simulate_designs(values)
    g, v = zip(*(study_effect(*sims[d.design_id]["E2"], 0.3, *objective.group_sizes[d.design_id])
                 for d in targets[0].designs))
    assert len(g) == len(targets[0].designs) >= 2
    assert min(g) <= pooled.estimate <= max(g)
    # the published I2 sets the between-study variance: with I2 = 0 the pool is the fixed-effect mean
    w = 1 / np.array(v)
    assert pool_random(g, v, tau2=0.0).estimate == pytest.approx(float(w @ np.array(g) / w.sum()))


def test_evidence_fit_recovers_known_therapy_parameters(niche_mouse, mouse_designs):
    """Synthetic 'published' effects computed at known values; the fit from the defaults finds them."""
    truth = {"niche_atresia": 0.85, "t_half_niche_build": 0.5}
    cv = {"E2": 0.3, "FSH": 0.3, "AMH": 0.3, "secondary": 0.3}
    analytes = list(cv)
    template, _ = build_targets(_rows(analytes, [0.0] * len(analytes)), mouse_designs)
    probe = EvidenceObjective({"mouse": niche_mouse}, template)
    estimates = [p.estimate for p in probe.pooled(truth, cv)]
    assert all(abs(e) > 0.3 for e in estimates), "the synthetic effects are not trivially zero"
    targets, _ = build_targets(_rows(analytes, estimates, half_width=0.2), mouse_designs)
    objective = EvidenceObjective({"mouse": niche_mouse}, targets)
    result = po.fit(niche_mouse, None, ["niche_atresia", "t_half_niche_build"], evidence=objective)
    assert result.status == "converged", result.message
    assert result.n_observations == len(analytes)
    assert result["niche_atresia"].value == pytest.approx(truth["niche_atresia"], rel=0.1)
    assert result["t_half_niche_build"].value == pytest.approx(truth["t_half_niche_build"], rel=0.35)
    assert {e["analyte"] for e in result.evidence} == set(analytes)
    assert all(e["within_ci"] for e in result.evidence)


def test_time_course_data_and_evidence_enter_one_fit_with_profiles(niche_mouse, mouse_designs):
    from poi_ode.data.synthetic import synthetic_dataset

    data = synthetic_dataset(niche_mouse, {"control": CTX, "msc": CTX + "; 7:msc:1e6:cells:intravenous"},
                             [14, 28], analytes=("AMH", "FSH"), seed=5, study_id="SYN")
    targets, _ = build_targets(_rows(["E2"], [1.0]), mouse_designs)
    objective = EvidenceObjective({"mouse": niche_mouse}, targets)
    result = po.fit(niche_mouse, data, ["niche_atresia"], evidence=objective, profiles=["niche_atresia"])
    assert result.n_observations == len(data) + 1
    assert [p.key for p in result.parameters] == ["niche_atresia", "cv_E2"]
    assert result["cv_E2"].prior is not None
    assert "niche_atresia" in result.profiles
    assert len(result.evidence) == 1 and result.evidence[0]["analyte"] == "E2"


def test_fit_without_data_or_evidence_is_a_clear_error(niche_mouse, mouse_designs):
    with pytest.raises(ParameterError, match="needs data, evidence or both"):
        po.fit(niche_mouse, None, ["niche_atresia"])
    targets, _ = build_targets(_rows(["E2"], [1.0]), mouse_designs)
    with pytest.raises(ParameterError, match="free="):
        po.fit(niche_mouse, None, evidence=EvidenceObjective({"mouse": niche_mouse}, targets))


def test_rows_the_model_cannot_simulate_are_left_out_with_the_reason(mouse_designs):
    rows = pd.concat([_rows(["LH"], [1.0]), _rows(["E2"], [1.0], subgroup=("cell_type", "adipose")),
                      _rows(["E2"], [1.0], subgroup=("species", "rabbit"))], ignore_index=True)
    targets, skipped = build_targets(rows, mouse_designs)
    assert targets == []
    reasons = " | ".join(s["reason"] for s in skipped)
    assert "not in the model" in reasons and "cell source or type" in reasons and "rabbit" in reasons
