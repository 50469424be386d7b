"""Shortcuts taken for speed give the answers of the plain paths they replace."""
from __future__ import annotations

import importlib

import numpy as np
import pytest
from conftest import random_parameters

import poi_ode as po

sim = importlib.import_module("poi_ode.simulate")  # the module (the package exports the function)


def test_warm_started_steady_state_equals_the_cold_solve(species_model, monkeypatch):
    """Newton from the reference steady state against relaxation + Newton from scratch."""
    rng = np.random.default_rng(11)
    base = species_model.parameter_set
    names = [n for n, p in base.parameters.items() if p.kind == "assumption"][:6]
    for _ in range(4):
        draw = base.with_values({n: base[n].value * float(np.exp(rng.normal(0, 0.2))) for n in names
                                 if base[n].lower <= base[n].value * 1.5 <= base[n].upper})
        sim._STEADY_CACHE.clear()
        warm = po.initial_state(species_model, "healthy", draw)
        sim._STEADY_CACHE.clear()
        with monkeypatch.context() as patch:
            patch.setattr(sim, "_reference_state", lambda *args: None)
            cold = po.initial_state(species_model, "healthy", draw)
        np.testing.assert_allclose(warm, cold, rtol=1e-7, atol=1e-12)


def test_batch_simulation_equals_one_at_a_time(mouse):
    rng = np.random.default_rng(5)
    sets = [random_parameters(mouse, rng) for _ in range(3)]
    regimens = [[po.Dose(0, "msc", 1e4 * (k + 1), "cells", "intraovarian")] for k in range(4)]
    times = [0.0, 7.0, 30.0, 90.0]
    batch = po.simulate_batch(mouse, regimens * 3, times, [s for s in sets for _ in range(4)])
    for b, tr in enumerate(batch):
        one = po.simulate(mouse, regimens[b % 4], times=times, params=sets[b // 4])
        np.testing.assert_array_equal(tr.states, one.states)
        np.testing.assert_array_equal(tr.outputs, one.outputs)


def test_batch_reports_bad_cases_without_losing_the_others(mouse):
    late = [po.Dose(200, "msc", 1e4, "cells", "intraovarian")]
    good = [po.Dose(0, "msc", 1e4, "cells", "intraovarian")]
    out = po.simulate_batch(mouse, [good, late, good], [0.0, 90.0])
    assert isinstance(out.errors[1], po.DosingError) and "day 200" in str(out.errors[1])
    assert list(out.ok) == [True, False, True] and np.all(np.isnan(out.states[1]))
    np.testing.assert_array_equal(out.trajectory(0).states, out.trajectory(2).states)
    with pytest.raises(po.ParameterError, match="2 parameter sets for 3 regimens"):
        po.simulate_batch(mouse, [good] * 3, [0.0, 90.0], [None, None])


def test_endpoints_on_a_batch_equal_endpoints_per_trajectory(mouse):
    from poi_ode.predict.endpoints import parse_endpoint

    regimens = [[po.Dose(0, "busulfan", 20, "mg/kg"), po.Dose(7, "msc", 10.0 ** k, "cells", "intraovarian")]
                for k in range(3, 7)]
    times = np.arange(0.0, 121.0)
    batch = po.simulate_batch(mouse, regimens, times)
    for text in ("AMH@90", "AUC:AMH@0-120", "FSH>10@0-120", "AMH<2@0-120", "resumed:E2>20@0-120"):
        endpoint = parse_endpoint(text)
        np.testing.assert_allclose(endpoint(batch), [endpoint(tr) for tr in batch], rtol=1e-13)  # summation order


def test_natural_histories_of_a_batch_equal_those_integrated_one_at_a_time(human):
    """simulate_batch integrates the healthy states of its parameter sets in one batch of the
    compiled engine; they equal healthy_state's, computed alone with the cache empty."""
    sets = [human.parameter_set.with_values(k_act=human.parameter_set["k_act"].value * (1 + 0.05 * i))
            for i in range(6)]
    alone = []
    for pset in sets:
        sim._HEALTHY_CACHE.clear()
        alone.append(sim.healthy_state(human, pset, 35.0))
    sim._HEALTHY_CACHE.clear()
    batch = po.simulate_batch(human, [po.Regimen()] * len(sets), times=[0.0, 1.0], params=sets, age=35.0)
    assert len(sim._HEALTHY_CACHE) == len(sets)
    for k, y in enumerate(alone):
        np.testing.assert_allclose(batch.states[k, 0], y, rtol=1e-9, atol=1e-12)
