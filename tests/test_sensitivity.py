"""Forward sensitivities from the symbolic model against finite differences of simulate."""
from __future__ import annotations

import numpy as np
import pytest

import poi_ode as po
from poi_ode.sensitivity import forward

REGIMEN = [po.Dose(0, "cyclophosphamide", 120, "mg/kg", "intraperitoneal"),
           po.Dose(14, "msc", 1e6, "cells", "intraovarian")]
TIMES = np.array([0.0, 7, 14, 21, 28, 42, 60])
NAMES = ["s_M", "p_protect", "t_half_AMH", "k_act", "kill_cyclophosphamide", "AMH_ref", "FSH_castrate"]


def test_forward_sensitivities_match_finite_differences(mouse):
    sens = forward(mouse, REGIMEN, TIMES, parameters=NAMES, rtol=1e-11, atol=1e-13)
    for j, name in enumerate(NAMES):
        # central differences with a step large enough to rise above the solver's own error
        value, h = mouse.parameter_set[name].value, 1e-4
        up = po.simulate(mouse, REGIMEN, times=TIMES, params={name: value * (1 + h)}, rtol=1e-12, atol=1e-14)
        down = po.simulate(mouse, REGIMEN, times=TIMES, params={name: value * (1 - h)}, rtol=1e-12, atol=1e-14)
        for state in ("AMH", "FSH", "E2", "F_prim", "F_sa"):
            fd = (up[state] - down[state]) / (2 * h * sens.values[j])
            analytic = sens.of(state)[:, j]
            # relative to the sensitivity, plus the finite differences' noise floor for zero sensitivities
            tolerance = 1e-4 * np.abs(fd) + 1e-4 * np.abs(fd).max() + 1e-8 * np.abs(up[state]).max() / sens.values[j]
            assert np.all(np.abs(analytic - fd) <= tolerance), (name, state, analytic, fd)


def test_initial_steady_state_sensitivity_uses_the_implicit_function_theorem(human):
    """At day 0 the healthy state moves with AMH_ref exactly as a re-solved steady state does."""
    sens = forward(human, None, [0.0, 1.0], parameters=["AMH_ref"])
    value, h = human.parameter_set["AMH_ref"].value, 1e-4
    up = po.initial_state(human, params={"AMH_ref": value * (1 + h)})
    down = po.initial_state(human, params={"AMH_ref": value * (1 - h)})
    fd = (up - down) / (2 * h * value)
    np.testing.assert_allclose(sens.S[0, :, 0], fd, rtol=1e-4, atol=1e-9 * np.abs(fd).max())


def test_normalized_table_ranks_parameters(mouse):
    sens = forward(mouse, REGIMEN, TIMES, parameters=NAMES)
    table = sens.table("AMH", 42)
    assert list(table.columns) == ["parameter", "normalized_sensitivity"]
    assert set(table["parameter"]) == set(NAMES)
    ranked = table["normalized_sensitivity"].abs().to_numpy()
    assert np.all(np.diff(ranked) <= 1e-12)


def test_bad_sensitivity_arguments(mouse):
    with pytest.raises(po.ParameterError, match="unknown parameter"):
        forward(mouse, None, [0, 1], parameters=["nope"])
    with pytest.raises(po.ParameterError, match="increasing"):
        forward(mouse, None, [1, 0])


def test_analytic_residual_jacobian_matches_finite_differences_and_fits_alike(mouse):
    from poi_ode.data.synthetic import synthetic_dataset
    from poi_ode.fitting import _jacobian
    from poi_ode.fitting.problem import FitProblem

    induction = "0:cyclophosphamide:120:mg/kg:intraperitoneal"
    data = synthetic_dataset(mouse, {"ctx": induction, "msc": induction + "; 14:msc:1e6:cells:intraovarian"},
                             [7, 14, 28, 42], params={"s_M": 1e-6}, seed=3)
    free = ["s_M", "p_protect", "kill_cyclophosphamide"]
    problem = FitProblem.build(mouse, data, free=free, priors={"s_M": {"median": 1e-6, "sd_log10": 1.0}})
    theta = problem.initial_vector()
    analytic, differences = problem.jacobian(theta), _jacobian(problem, theta)
    assert analytic.shape == differences.shape
    # where the finite differences rise above their noise floor, they agree with the sensitivities
    np.testing.assert_allclose(analytic, differences, rtol=1e-3, atol=1e-3 * np.abs(differences).max())
    one = po.fit(mouse, data, free=free, jacobian="fd")
    two = po.fit(mouse, data, free=free, jacobian="analytic")
    # s_M and p_protect trade off along a shallow valley here: the exact Jacobian gets at least as
    # far down it as finite differences, with fewer residual evaluations
    assert two.status == "converged" and two.n_evaluations < one.n_evaluations
    assert two.chi2 <= one.chi2 * (1 + 1e-6)
