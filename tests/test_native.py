"""The compiled engine (generated C, RODAS4, sparse LU) against scipy's LSODA and against itself."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import insult_for, random_parameters

import poi_ode as po
from poi_ode import native
from poi_ode.errors import SimulationError
from poi_ode.native import engine
from poi_ode.simulate import dose_jumps, initial_state

TIMES = np.linspace(0.0, 240.0, 25)


def scenario(model, name: str) -> list[po.Dose]:
    """The four cross-check scenarios (as for the SBML export), cell doses scaled to the species."""
    cells = 1e6 if model.species == "human" else 1e4
    insult = insult_for(model) if name != "healthy" else []
    extra = {
        "healthy": [], "insult": [],
        "msc": [po.Dose(14, "msc", cells, "cells", "intraovarian"), po.Dose(60, "msc", cells, "cells", "intravenous")],
        "exosome": [po.Dose(14, "exosome", cells / 1e4, "ug", "intraovarian"),
                    po.Dose(21, "exosome", cells / 1e4, "ug", "depot")],
    }[name]
    return insult + extra


@pytest.fixture(autouse=True)
def _needs_compiler(human):
    reason = native.available(human)
    if reason:
        pytest.skip(f"compiled engine unavailable: {reason}")


def _close(a, b):
    """Largest relative difference; values below 1e-3 of a variable's range are compared
    against that floor, and differences under 1e-12 (solver noise in compartments that stay
    empty, atol 1e-13) are ignored."""
    scale = np.abs(b) + 1e-3 * np.abs(b).max(axis=0, keepdims=True)
    diff = np.abs(a - b)
    return float(np.max(np.where(diff < 1e-12, 0.0, diff / np.where(scale > 0, scale, 1.0))))


@pytest.mark.parametrize("name", ["healthy", "insult", "msc", "exosome"])
def test_compiled_engine_agrees_with_lsoda(species_model, name):
    tight = dict(rtol=1e-10, atol=1e-13)
    regimen = scenario(species_model, name)
    ours = po.simulate(species_model, regimen, times=TIMES, method="rodas", **tight)
    reference = po.simulate(species_model, regimen, times=TIMES, method="LSODA", **tight)
    assert ours.stats["method"] == "rodas" and reference.stats["method"] == "LSODA"
    assert _close(ours.states, reference.states) < 1e-6
    assert _close(ours.outputs, reference.outputs) < 1e-6


def test_dense_fallback_agrees_with_sparse_lu(human):
    """The same steps with the pivoted dense LU on every step (compiled with POI_FORCE_DENSE)."""
    regimen = po.Regimen(scenario(human, "msc"))
    p = human.parameter_set.vector(human)
    q = np.array(human.compiled.prepare(p))
    y0 = initial_state(human)
    dose_t, jumps = dose_jumps(regimen.resolve(human, p), len(y0))
    sparse = native.native_model(human)
    dense = native.native_model(human, defines=("POI_FORCE_DENSE",))
    a, _, stats_a, fail_a = sparse.simulate(q, y0, dose_t, jumps, TIMES, 1e-8, 1e-11, 100_000)
    b, _, stats_b, fail_b = dense.simulate(q, y0, dose_t, jumps, TIMES, 1e-8, 1e-11, 100_000)
    assert fail_a is None and fail_b is None
    assert _close(a, b) < 1e-6  # round-off differences change the step sequence: agreement to the tolerance


def test_batch_equals_single_runs_and_is_thread_independent(mouse):
    rng = np.random.default_rng(3)
    engine = native.native_model(mouse)
    Q, Y0, times_, jumps_ = [], [], [], []
    for b in range(6):
        pset = random_parameters(mouse, rng)
        p = pset.vector(mouse)
        Q.append(mouse.compiled.prepare(p))
        Y0.append(initial_state(mouse, "healthy", pset))
        regimen = [po.Dose(float(rng.uniform(0, 30)), "msc", float(10 ** rng.uniform(3, 6)), "cells", "intraovarian")]
        regimen += [po.Dose(0, "busulfan", 20, "mg/kg")] * (b % 2)
        t, j = dose_jumps(po.Regimen(regimen).resolve(mouse, p), len(mouse.states))
        times_.append(t)
        jumps_.append(j)
    one, outputs, _, fails1 = engine.simulate_batch(Q, Y0, times_, jumps_, TIMES, 1e-7, 1e-10, 100_000, threads=1)
    two, _, _, fails2 = engine.simulate_batch(Q, Y0, times_, jumps_, TIMES, 1e-7, 1e-10, 100_000, threads=2)
    assert fails1 == [None] * 6 and fails2 == [None] * 6
    np.testing.assert_array_equal(one, two)
    for b in range(6):  # outputs printed in C against the generated Python (vectorised numpy) ones
        np.testing.assert_allclose(outputs[b], mouse.compiled.outputs(TIMES, one[b], tuple(Q[b])), rtol=1e-12,
                                   atol=1e-300)
    for b in range(6):
        single, _, _, _ = engine.simulate(Q[b], Y0[b], times_[b], jumps_[b], TIMES, 1e-7, 1e-10, 100_000)
        np.testing.assert_array_equal(single, one[b])


def test_failure_is_retried_by_lsoda_and_reported(human, monkeypatch):
    engine = native.native_model(human)

    def failing(self, q, y0, dose_t, jumps, times, rtol, atol, max_steps):
        return np.full((len(times), len(y0)), np.nan), None, {"status": 1}, 12.5

    monkeypatch.setattr(type(engine), "simulate", failing)
    tr = po.simulate(human, scenario(human, "msc"), times=TIMES)
    reference = po.simulate(human, scenario(human, "msc"), times=TIMES, method="LSODA")
    assert tr.stats["method"] == "LSODA" and "day 12.5" in tr.stats["fallback"]
    np.testing.assert_array_equal(tr.states, reference.states)


def test_without_a_compiler_auto_uses_lsoda_and_rodas_says_why(human, monkeypatch, tmp_path):
    monkeypatch.setenv("POI_ODE_CACHE", str(tmp_path))
    monkeypatch.setattr(engine, "_compiler", lambda: None)
    monkeypatch.setattr(engine, "_MEMORY", {})
    monkeypatch.setattr(engine, "_UNAVAILABLE", {})
    assert po.simulate(human, None, times=TIMES).stats["method"] == "LSODA"
    with pytest.raises(SimulationError, match="no C compiler"):
        po.simulate(human, None, times=TIMES, method="rodas")


def test_one_simulation_keeps_the_batch_shape_checks(human):
    """One simulation skips np.stack (a view of its arrays): a wrongly shaped one still fails as in a batch."""
    engine = native.native_model(human)
    p = human.parameter_set.vector(human)
    q = np.array(human.compiled.prepare(p))
    y0 = initial_state(human)
    t, j = dose_jumps(po.Regimen(scenario(human, "msc")).resolve(human, p), len(y0))
    for bad_q, bad_y0 in ((q[None], y0), (q, y0[None]), (q[:-1], y0), (q, y0[:-1])):
        with pytest.raises(ValueError, match="batch shapes"):
            engine.simulate_ragged([bad_q], [bad_y0], [t], [j], [TIMES], 1e-7, 1e-10, 100_000)
    before = (q.copy(), y0.copy())
    one = engine.simulate_ragged([q], [y0], [t], [j], [TIMES], 1e-7, 1e-10, 100_000)
    two = engine.simulate_ragged([q, q], [y0, y0], [t, t], [j, j], [TIMES, TIMES], 1e-7, 1e-10, 100_000)
    np.testing.assert_array_equal(one[0][0], two[0][1])
    np.testing.assert_array_equal(one[1][0], two[1][1])
    assert one[2][0] == two[2][1] and one[3] == [None]
    np.testing.assert_array_equal(q, before[0])  # the inputs are read, not written
    np.testing.assert_array_equal(y0, before[1])
