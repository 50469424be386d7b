"""Forward sensitivities, endpoint sensitivities and Fisher information against finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import poi_ode as po
from poi_ode.data.synthetic import synthetic_dataset
from poi_ode.fitting.problem import FitProblem
from poi_ode.predict.endpoints import parse_endpoint
from poi_ode.sensitivity import endpoint_sensitivity, fisher_information, forward

REGIMEN = [po.Dose(0, "cyclophosphamide", 120, "mg/kg", "intraperitoneal"),
           po.Dose(14, "msc", 1e6, "cells", "intraovarian")]
TIMES = np.array([0.0, 7, 14, 21, 28, 42, 60])
NAMES = ["s_M", "p_protect", "t_half_AMH", "k_act", "kill_cyclophosphamide", "AMH_ref", "FSH_castrate"]
INDUCTION = "0:cyclophosphamide:120:mg/kg:intraperitoneal"
TIGHT = {"rtol": 1e-12, "atol": 1e-14}


@pytest.fixture(scope="module")
def mouse(mouse_interior):
    """The mouse model with its therapy parameters inside their bounds (central differences step both ways;
    the calibrated set has some at a bound)."""
    return mouse_interior


def _central(model, name, h=1e-4, times=TIMES):
    """Trajectories at the parameter's value times (1 + h) and (1 - h), solved tightly."""
    value = model.parameter_set[name].value
    return [po.simulate(model, REGIMEN, times=times, params={name: value * (1 + s * h)}, **TIGHT) for s in (1, -1)]


def _assert_matches_differences(model, names, variables):
    """d variable / d p from forward sensitivities against central differences of simulate."""
    sens = forward(model, REGIMEN, TIMES, parameters=names, rtol=1e-11, atol=1e-13)
    h = 1e-4
    for j, name in enumerate(names):
        up, down = _central(model, name, h)
        for variable in variables:
            fd = (up[variable] - down[variable]) / (2 * h * sens.values[j])
            analytic = sens.of(variable)[:, j]
            # relative to the sensitivity, plus the finite differences' noise floor for zero sensitivities
            tolerance = 1e-4 * np.abs(fd) + 1e-4 * np.abs(fd).max() + 1e-8 * np.abs(up[variable]).max() / sens.values[j]
            assert np.all(np.abs(analytic - fd) <= tolerance), (name, variable, analytic, fd)


def test_forward_sensitivities_match_finite_differences(mouse):
    _assert_matches_differences(mouse, NAMES, ("AMH", "FSH", "E2", "F_prim", "F_sa"))


def test_output_sensitivities_match_finite_differences(mouse):
    """Assignments (dg/dy S + dg/dp), with parameters that enter the outputs directly and through the states."""
    names = ["s_M", "p_protect", "K_AMH", "AMH_ref", "K_FSH", "kill_cyclophosphamide"]
    outputs = ["AFC", "act_modifier", "atresia_modifier", "fsh_selection", "cytotoxic_kill", "Phi"]
    assert set(outputs) <= set(mouse.compiled.output_names)
    _assert_matches_differences(mouse, names, [*outputs, "AMH", "FSH"])


@pytest.mark.parametrize("initial", ["healthy", "poi"])
def test_initial_state_sensitivity_follows_the_natural_history(human, initial):
    """At day 0 the state integrated from birth (and the POI state built on it) moves with the
    reserve and AMH parameters as re-integrated states do (central differences, elasticities)."""
    names = ["F_prim_start", "k_act", "K_AMH", "w_AMH_age", "AMH_ref", "poi_reserve_fraction"]
    sens = forward(human, None, [0.0, 1.0], parameters=names, initial=initial)
    y0 = po.initial_state(human, initial)
    positive = y0 > 1e-9
    for j, name in enumerate(names):
        value, h = human.parameter_set[name].value, 1e-4
        up = po.initial_state(human, initial, params={name: value * (1 + h)})
        down = po.initial_state(human, initial, params={name: value * (1 - h)})
        fd = (up - down) / (2 * h) / np.where(positive, y0, 1.0)
        exact = sens.S[0, :, j] * value / np.where(positive, y0, 1.0)
        np.testing.assert_allclose(exact[positive], fd[positive], rtol=1e-3, atol=1e-4, err_msg=name)
    assert np.abs(sens.S[0, :, 0][positive]).max() > 0  # F_prim_start moves the state


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
    from poi_ode.fitting.jacobian import finite_difference_jacobian

    data = synthetic_dataset(mouse, {"ctx": INDUCTION, "msc": INDUCTION + "; 14:msc:1e6:cells:intraovarian"},
                             [7, 14, 28, 42], params={"s_M": 1e-6}, seed=3)
    free = ["s_M", "p_protect", "kill_cyclophosphamide"]
    problem = FitProblem.build(mouse, data, free=free, priors={"s_M": {"median": 1e-6, "sd_log10": 1.0}})
    theta = problem.initial_vector()
    analytic, differences = problem.jacobian(theta), finite_difference_jacobian(problem, theta)
    assert analytic.shape == differences.shape
    # where the finite differences rise above their noise floor, they agree with the sensitivities
    np.testing.assert_allclose(analytic, differences, rtol=1e-3, atol=1e-3 * np.abs(differences).max())
    one = po.fit(mouse, data, free=free, jacobian="fd")
    two = po.fit(mouse, data, free=free, jacobian="analytic")
    # s_M and p_protect trade off along a shallow valley here: the exact Jacobian gets at least as
    # far down it as finite differences, with fewer residual evaluations
    assert two.status == "converged" and two.n_evaluations < one.n_evaluations
    assert two.chi2 <= one.chi2 * (1 + 1e-6)


def test_finite_difference_jacobian_is_second_order_at_bounds():
    """The bundled mouse set has s_M at its upper and p_protect at its lower bound: inward one-sided differences of
    second order agree with the analytic Jacobian as central ones do inside (a first-order one-sided
    difference misses by about 4e-4 here)."""
    from poi_ode.fitting.jacobian import finite_difference_jacobian

    bundled = po.load_model("mouse")
    data = synthetic_dataset(bundled, {"ctx": INDUCTION, "msc": INDUCTION + "; 14:msc:1e6:cells:intraovarian"},
                             [7, 14, 28, 42], params={"s_M": 1e-6}, seed=3)
    problem = FitProblem.build(bundled, data, free=["s_M", "p_protect", "kill_cyclophosphamide"])
    theta = problem.initial_vector()
    lo, hi = problem.bounds()
    assert hi[0] - theta[0] < 1e-4 and theta[1] - lo[1] < 1e-4, "the test needs parameters at their bounds"
    analytic, differences = problem.jacobian(theta), finite_difference_jacobian(problem, theta)
    error = np.abs(analytic - differences).max(axis=0) / np.abs(analytic).max(axis=0)
    assert error.max() < 1e-5, error


def test_sensitivities_name_unknown_variables_and_days(mouse):
    sens = forward(mouse, REGIMEN, TIMES, parameters=["k_act"])
    with pytest.raises(po.ParameterError, match="'nope' is neither a state nor an output"):
        sens.of("nope")
    with pytest.raises(po.ParameterError, match="day 5 is not an output day"):
        sens.table("AFC", 5)
    assert sens.table("AFC", 42)["parameter"].tolist() == ["k_act"]


@pytest.mark.parametrize("spec", ["AMH@42", "AUC:AFC@0-60", "AUC:FSH@10-40"])
def test_endpoint_sensitivity_matches_finite_differences(mouse, spec):
    """A value at a day (state) and AUCs (output, state) from forward sensitivities against differences."""
    names = ["s_M", "k_act", "p_protect", "AMH_ref", "kill_cyclophosphamide"]
    frame = endpoint_sensitivity(mouse, spec, REGIMEN, parameters=names, rtol=1e-11, atol=1e-13)
    assert set(frame["method"]) == {"forward sensitivities"}
    endpoint = parse_endpoint(spec)
    times = sorted({0.0, *endpoint.times(mouse)})
    value = endpoint(po.simulate(mouse, REGIMEN, times=times, **TIGHT))
    assert frame.attrs["endpoint_value"] == pytest.approx(value, rel=1e-6)
    h = 1e-4
    for row in frame.itertuples():
        up, down = (endpoint(tr) for tr in _central(mouse, row.parameter, h, times))
        normalized = (up - down) / (2 * h * value)
        assert row.normalized == pytest.approx(normalized, rel=1e-4, abs=1e-6), row.parameter
        slope = (up - down) / (2 * h * row.value)
        assert row.derivative == pytest.approx(slope, rel=1e-4, abs=1e-6 * abs(value) / row.value)


def test_threshold_endpoint_gets_marked_central_differences(mouse):
    """Days below a threshold are a step function of the parameters: a ±5 % secant, said so. The threshold,
    1 ng/mL, is one the course crosses on its fall after chemotherapy and its recovery after the cells, so the
    secant has days to count."""
    frame = endpoint_sensitivity(mouse, "AMH<1@0-60", REGIMEN, parameters=["k_act", "AMH_ref"]).set_index("parameter")
    assert set(frame["method"]) == {"central differences (±5%)"}
    endpoint = parse_endpoint("AMH<1@0-60")
    times = sorted({0.0, *endpoint.times(mouse)})
    value = mouse.parameter_set["AMH_ref"].value
    up, down = (endpoint(po.simulate(mouse, REGIMEN, times=times, params={"AMH_ref": value * f}, rtol=1e-8, atol=1e-10))
                for f in (1.05, 0.95))
    assert up < down  # more AMH, fewer days below the threshold
    assert frame.loc["AMH_ref", "derivative"] == pytest.approx((up - down) / (0.1 * value), rel=1e-9)


@pytest.fixture(scope="module")
def problem(mouse):
    """AMH (a state) and the antral count (an output) in two arms; three free parameters."""
    data = synthetic_dataset(mouse, {"ctx": INDUCTION, "msc": INDUCTION + "; 14:msc:1e6:cells:intraovarian"},
                             [7, 14, 28, 42], analytes=("AMH", "AFC"), params={"s_M": 1e-6}, seed=3)
    return data, FitProblem.build(mouse, data, free=["s_M", "p_protect", "kill_cyclophosphamide"])


def test_fisher_information_matches_differences_and_the_fit_covariance(mouse, problem):
    from poi_ode.fitting.jacobian import finite_difference_jacobian

    data, prob = problem
    theta = prob.initial_vector()
    info = fisher_information(prob, theta)
    assert info.method.startswith("analytic") and info.parameters == ["s_M", "p_protect", "kill_cyclophosphamide"]
    fd = finite_difference_jacobian(prob, theta)
    reference = fd.T @ fd
    scale = np.sqrt(np.outer(np.diag(reference), np.diag(reference)))
    assert np.all(np.abs(info.matrix - reference) <= 1e-5 * scale)  # relative to sqrt(F_ii F_jj)
    np.testing.assert_allclose(info.eigenvalues, np.linalg.eigvalsh(reference), rtol=1e-4)
    assert info.condition == pytest.approx(info.eigenvalues[-1] / info.eigenvalues[0], rel=1e-6)
    # at the estimate, the Cramér-Rao bound is the covariance the fit reports (central differences there)
    result = po.fit(mouse, data, free=info.parameters)
    at_fit = fisher_information(prob, result)
    np.testing.assert_allclose(at_fit.covariance, np.array(result.covariance), rtol=1e-3)
    np.testing.assert_allclose(at_fit.stderr, [p.stderr_internal for p in result.parameters], rtol=1e-3)
    np.testing.assert_allclose(np.linalg.inv(at_fit.matrix), at_fit.covariance, rtol=1e-8)


def test_fisher_information_flags_a_parameter_the_data_cannot_see(mouse, problem):
    data, _ = problem
    prob = FitProblem.build(mouse, data, free=["s_M", "s_X"], use_set_priors=False)  # no exosome arm
    info = fisher_information(prob, data_only=True)
    assert info.flat == ["s_X"] and info.condition == np.inf
    assert np.isnan(info.stderr[1]) and np.isfinite(info.stderr[0])
    assert any("s_X" in line for line in info.weak_directions())
    assert info.frame().set_index("parameter").loc["s_X", "flat"]


def test_bad_endpoint_and_fisher_arguments(mouse, problem):
    with pytest.raises(po.ParameterError, match="'nope' is not a state or output"):
        endpoint_sensitivity(mouse, "nope@5")
    with pytest.raises(po.ParameterError, match="cannot read endpoint 'AMH at 5'"):
        endpoint_sensitivity(mouse, "AMH at 5")
    with pytest.raises(po.ParameterError, match=r"unknown parameter\(s\) \['k_nope'\]"):
        endpoint_sensitivity(mouse, "FSH<25@0-30", parameters=["k_act", "k_nope"])
    with pytest.raises(po.ParameterError, match="step"):
        endpoint_sensitivity(mouse, "FSH<25@0-30", step=2.0)
    _, prob = problem
    with pytest.raises(po.ParameterError, match="3 free parameters"):
        fisher_information(prob, [1.0])
