"""The compiled forward sensitivities (RODAS4 on the augmented system, in C) against the scipy
path (odeint on the same equations) and against central finite differences of simulations."""
from __future__ import annotations

import numpy as np
import pytest

import poi_ode as po
from poi_ode.data.synthetic import synthetic_dataset
from poi_ode.errors import ParameterError
from poi_ode.fitting.jacobian import finite_difference_jacobian
from poi_ode.fitting.problem import FitProblem
from poi_ode.native import NativeModel, native_model
from poi_ode.sensitivity import forward

REGIMEN = [po.Dose(0, "cyclophosphamide", 120, "mg/kg", "intraperitoneal"),
           po.Dose(14, "msc", 1e6, "cells", "intraovarian"), po.Dose(28, "exosome", 10, "ug", "intraovarian")]
TIMES = np.array([0.0, 3, 14, 21, 28, 42, 60])
# therapy, chemotherapy, hormone and reserve parameters (the last two move the initial state too)
NAMES = ["s_M", "p_protect", "kill_cyclophosphamide", "t_half_AMH", "AMH_ref", "k_act", "F_prim_start"]


@pytest.fixture(autouse=True)
def _needs_compiler(mouse):
    try:
        native_model(mouse, sensitivities=True)
    except po.PoiOdeError as exc:
        pytest.skip(f"compiled sensitivities unavailable: {exc}")


@pytest.fixture(scope="module")
def mouse(mouse_interior):
    """The mouse model with its therapy parameters inside their bounds (central differences step both ways;
    the calibrated set has some at a bound)."""
    return mouse_interior


def _relative_gap(a: np.ndarray, b: np.ndarray, floor: float = 1e-300) -> float:
    """Largest difference per last-axis column (parameter, or state) relative to that column's
    largest |value| plus ``floor`` (for states that stay at solver noise)."""
    scale = np.abs(b).max(axis=tuple(range(b.ndim - 1)), keepdims=True) + floor
    return float(np.max(np.abs(a - b) / scale))


@pytest.mark.parametrize("initial", ["healthy", "poi"])
def test_compiled_sensitivities_agree_with_the_scipy_path(mouse, initial):
    """Same states, state and output sensitivities as odeint's, at tight tolerances of both."""
    tight = {"rtol": 1e-10, "atol": 1e-13}
    ours = forward(mouse, REGIMEN, TIMES, parameters=NAMES, initial=initial, method="rodas", **tight)
    scipy_path = forward(mouse, REGIMEN, TIMES, parameters=NAMES, initial=initial, method="LSODA", **tight)
    assert _relative_gap(ours.states, scipy_path.states, floor=1e-9) < 1e-7
    assert _relative_gap(ours.S, scipy_path.S) < 1e-6
    assert _relative_gap(ours.S_outputs, scipy_path.S_outputs) < 1e-6
    assert np.abs(ours.S).max() > 0 and np.all(np.isfinite(ours.S))


def test_compiled_sensitivities_match_central_differences(mouse):
    """d y / d p and d output / d p against central differences (±1e-4 relative) of tightly
    solved simulations, to 1e-4 of each state's (output's) largest sensitivity."""
    sens = forward(mouse, REGIMEN, TIMES, parameters=NAMES, rtol=1e-10, atol=1e-13, method="rodas")
    for j, name in enumerate(NAMES):
        value, h = mouse.parameter_set[name].value, 1e-4
        up, down = (po.simulate(mouse, REGIMEN, times=TIMES, params={name: value * (1 + s * h)}, rtol=1e-12,
                                atol=1e-14) for s in (1, -1))
        for ours, a, b in ((sens.S[:, :, j], up.states, down.states),
                           (sens.S_outputs[:, :, j], up.outputs, down.outputs)):
            fd = (a - b) / (2 * h * sens.values[j])  # per declared unit of the model (the set may use another)
            # per state or output: 1e-4 of its largest sensitivity, plus the differences' noise
            # floor (simulations to ~1e-11 of the value, divided by the step)
            floor = 1e-4 * np.abs(fd).max(axis=0) + 1e-9 * np.abs(a).max(axis=0) / (h * sens.values[j])
            assert np.all(np.abs(ours - fd) <= floor), (name, np.max(np.abs(ours - fd) - floor))


def test_human_natural_history_sensitivities_agree_with_the_scipy_path(human):
    """The initial state integrated from birth (30 years) with its sensitivities, then doses."""
    names = ["k_act", "F_prim_start", "s_M"]
    regimen = [po.Dose(0, "msc", 1e7, "cells", "intraovarian")]
    times = [0.0, 30.0, 90.0]
    ours = forward(human, regimen, times, parameters=names, rtol=1e-9, atol=1e-12, method="rodas")
    scipy_path = forward(human, regimen, times, parameters=names, rtol=1e-9, atol=1e-12, method="LSODA")
    assert _relative_gap(ours.S, scipy_path.S) < 1e-5
    assert _relative_gap(ours.S_outputs, scipy_path.S_outputs) < 1e-5


def test_dense_fallback_gives_the_same_sensitivities(mouse):
    """The pivoted dense LU on every step (POI_FORCE_DENSE) against the sparse factorisation."""
    p = mouse.parameter_set.vector(mouse)
    q = np.array(mouse.compiled.prepare(p))
    y0 = po.initial_state(mouse)
    y0[mouse.index["A_cyclophosphamide"]] += 3.0
    cols = [mouse.parameter_names.index(n) for n in NAMES]
    args = (q, y0, np.zeros((len(y0), len(cols))), cols, np.abs(p[cols]), TIMES, 1e-9, 1e-12, 10**6)
    sparse = native_model(mouse, sensitivities=True).sensitivities(*args)
    dense = native_model(mouse, defines=("POI_FORCE_DENSE",), sensitivities=True).sensitivities(*args)
    assert sparse[3] is None and dense[3] is None
    assert _relative_gap(sparse[1], dense[1]) < 1e-6
    assert np.abs(sparse[1]).max() > 0


def test_fit_problem_jacobian_uses_the_compiled_sensitivities(mouse, monkeypatch):
    """``jacobian="analytic"`` runs through the compiled engine and agrees with central differences."""
    arms = {"ctx": "0:cyclophosphamide:120:mg/kg:intraperitoneal",
            "msc": "0:cyclophosphamide:120:mg/kg:intraperitoneal; 14:msc:1e6:cells:intraovarian"}
    data = synthetic_dataset(mouse, arms, [7, 21, 42], params={"s_M": 1e-6}, seed=2)
    problem = FitProblem.build(mouse, data, ["s_M", "p_protect", "kill_cyclophosphamide"])
    calls = []
    original = NativeModel.sensitivities

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NativeModel, "sensitivities", counted)
    theta = problem.initial_vector()
    analytic = problem.jacobian(theta)
    assert calls and analytic is not None
    reference = finite_difference_jacobian(problem, theta, step=1e-5)
    assert _relative_gap(analytic, reference) < 1e-4


def test_method_is_checked(mouse):
    with pytest.raises(ParameterError, match="method"):
        forward(mouse, REGIMEN, TIMES, parameters=["s_M"], method="euler")


def test_age_axis_arms_share_one_sensitivity_run_and_match_differences(human, monkeypatch):
    """Observations on the age axis (one untreated course per parameter set, as the residuals
    simulate it): one forward run for all of them, the Jacobian as central differences."""
    from poi_ode.data import load_dataset
    from poi_ode.sensitivity import local

    data = load_dataset("human_fsh_inhibin_e2_by_age")
    problem = FitProblem.build(human, data, ["AMH_ref", "FSH_castrate", "k_act"], sigma={"*": 0.3})
    assert sum(arm.age_axis for arm in problem.arms) >= 2
    runs = []
    original = local.forward

    def counted(*args, **kwargs):
        runs.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(local, "forward", counted)
    monkeypatch.setattr("poi_ode.sensitivity.forward", counted)
    theta = problem.initial_vector()
    analytic = problem.jacobian(theta)
    assert analytic is not None
    assert len(runs) == 1
    reference = finite_difference_jacobian(problem, theta, step=1e-5)
    assert np.abs(reference[:, 1:]).max() > 0.1  # FSH_castrate and k_act are seen (AMH_ref is not: no AMH here)
    assert _relative_gap(analytic, reference, floor=1e-3) < 1e-4  # floor: for the zero column (noise ~1e-9)


@pytest.mark.parametrize("initial", ["healthy", "poi"])
def test_columns_that_stay_zero_are_left_out_with_the_same_values(mouse, monkeypatch, initial):
    """Cyclophosphamide alone: the busulfan, exosome and MSC parameters cannot move any state (their
    drugs, vesicles and cells stay 0), so their columns are not integrated; every value equals that of the
    run integrating all columns (the error norm still counts them: the same steps), and the columns left
    out are exactly 0 there too."""
    import poi_ode.sensitivity.local as local

    regimen = [po.Dose(0, "cyclophosphamide", 120, "mg/kg", "intraperitoneal")]
    names = ["s_M", "kill_busulfan", "s_X", "kill_cyclophosphamide", "t_half_AMH", "k_act"]
    model = mouse
    pruned = forward(model, regimen, TIMES, parameters=names, initial=initial)
    y0 = po.initial_state(model, initial)
    cols = np.array([model.parameter_names.index(n) for n in names])
    resolved = po.Regimen(regimen).resolve(model, model.require_parameter_set().vector(model))
    moving = local.moving_columns(model, cols, y0, np.zeros((len(y0), len(names))), resolved)
    left_out = sorted(set(range(len(names))) - set(moving.tolist()))
    assert [names[c] for c in left_out] == ["s_M", "kill_busulfan", "s_X"]
    monkeypatch.setattr(local, "moving_columns", lambda model, cols, *args: np.arange(len(cols)))
    full = forward(model, regimen, TIMES, parameters=names, initial=initial)
    np.testing.assert_array_equal(pruned.states, full.states)
    np.testing.assert_array_equal(pruned.S, full.S)
    np.testing.assert_array_equal(pruned.S_outputs, full.S_outputs)
    assert np.all(full.S[:, :, left_out] == 0.0)
    assert np.any(full.S[:, :, [c for c in range(len(names)) if c not in left_out]] != 0.0)


def test_verification_sensitivity_check_passes_on_states_zero_within_tolerance():
    """The verification page's forward-sensitivity row on the human MSC scenario, whose i.v. cells are ~1e-164
    days after their dose: those pairs are noise, not error (the check read 1.5 for d M_iv / d f_home when it
    compared them); the tolerance is the page's 1e-3."""
    from poi_ode.export import verify

    human = po.load_model("human")
    result = verify.sensitivity_errors(human, verify._scenarios("human")["msc"])
    assert result["states"][0] < 1e-3 and result["outputs"][0] < 1e-3, result
