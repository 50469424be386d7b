"""The generated numeric code against independent evaluations of the same sympy model."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from conftest import random_parameters


def _random_state(model, rng):
    """States spread over orders of magnitude (0 to 1e4)."""
    return np.exp(rng.uniform(np.log(1e-3), np.log(1e4), len(model.states)))


def test_rhs_matches_sympy_lambdify(species_model):
    """Our printer (CSE, products for powers) against sympy's own numpy printer."""
    model = species_model
    reference = sp.lambdify(
        [[s.symbol for s in model.states], [p.symbol for p in model.parameters]],
        model.rhs_expressions(),
        modules="numpy",
    )
    rng = np.random.default_rng(1)
    for _ in range(20):
        y = _random_state(model, rng)
        p = random_parameters(model, rng).vector(model)
        expected = np.array(reference(y, p), dtype=float)
        q = model.compiled.prepare(p)
        np.testing.assert_allclose(model.compiled.rhs(0.0, y, q), expected, rtol=1e-10, atol=1e-12)


def test_jacobian_matches_finite_differences(species_model):
    model = species_model
    c = model.compiled
    rng = np.random.default_rng(2)
    n = len(model.states)
    for _ in range(20):
        y = _random_state(model, rng)
        p = c.prepare(random_parameters(model, rng).vector(model))
        J = c.jac(0.0, y, p)
        fd = np.empty((n, n))
        for j in range(n):
            h = 1e-6 * y[j]
            e = np.zeros(n)
            e[j] = h
            # fourth-order central difference
            fd[:, j] = (
                -c.rhs(0, y + 2 * e, p) + 8 * c.rhs(0, y + e, p) - 8 * c.rhs(0, y - e, p) + c.rhs(0, y - 2 * e, p)
            ) / (12 * h)
        # round-off in a difference quotient of row i is about eps * (size of row i's terms) / h
        row_size = np.max(np.abs(J) * y[None, :], axis=1) + np.abs(c.rhs(0, y, p))
        tolerance = 1e-6 * np.abs(fd) + 1e-8 * row_size[:, None] / y[None, :]
        bad = np.argwhere(np.abs(J - fd) > tolerance)
        assert not bad.size, [(model.state_names[i], model.state_names[j], J[i, j], fd[i, j]) for i, j in bad[:5]]


def test_flows_sum_to_rhs(species_model):
    """Each state's rhs is its inflows minus its outflows, also in the vectorised flow code."""
    model = species_model
    c = model.compiled
    rng = np.random.default_rng(3)
    Y = np.stack([_random_state(model, rng) for _ in range(5)])
    p = c.prepare(model.parameter_set.vector(model))
    rates = c.flows(0.0, Y, p)
    incidence = np.zeros((len(model.states), len(model.flows)))
    for k, f in enumerate(model.flows):
        if f.target is not None:
            incidence[model.index[f.target], k] += 1
        if f.source is not None:
            incidence[model.index[f.source], k] -= 1
    for row, y in zip(rates, Y):
        np.testing.assert_allclose(incidence @ row, c.rhs(0.0, y, p), rtol=1e-10, atol=1e-9)


def test_outputs_vectorise_over_time(human):
    c = human.compiled
    p = c.prepare(human.parameter_set.vector(human))
    rng = np.random.default_rng(4)
    Y = np.stack([_random_state(human, rng) for _ in range(7)])
    together = c.outputs(np.arange(7.0), Y, p)
    one_by_one = np.stack([c.outputs(float(t), y, p) for t, y in enumerate(Y)])
    np.testing.assert_allclose(together, one_by_one)
    assert together.shape == (7, len(human.assignments))


def test_generated_code_is_cached_on_disk(tmp_path, monkeypatch, human):
    from poi_ode import compile as compile_module
    from poi_ode.model import load_model

    monkeypatch.setenv("POI_ODE_CACHE", str(tmp_path))
    monkeypatch.setattr(compile_module, "_MEMORY", {})
    model = load_model("human")
    first = model.compiled
    files = list(tmp_path.glob("model_*.py"))
    assert len(files) == 1 and files[0].read_text() == first.source
    monkeypatch.setattr(compile_module, "_MEMORY", {})
    again = load_model("human").compiled
    assert again.key == first.key and again.source == first.source


@pytest.mark.parametrize("name", ["rhs", "jac"])
def test_compiled_functions_do_not_mutate_inputs(human, name):
    y = np.linspace(1, 2, len(human.states))
    p = human.compiled.prepare(human.parameter_set.vector(human))
    y0 = y.copy()
    getattr(human.compiled, name)(0.0, y, p)
    np.testing.assert_array_equal(y, y0)
    assert isinstance(p, tuple)  # prepared constants are immutable
