"""Multistart local fits on an executor: the same result whichever process or thread runs them."""
from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import poi_ode as po
from poi_ode.data.synthetic import synthetic_dataset
from poi_ode.errors import ParameterError
from poi_ode.fitting.problem import FitProblem

ARMS = {"ctx": "0:cyclophosphamide:120:mg/kg:intraperitoneal",
        "msc": "0:cyclophosphamide:120:mg/kg:intraperitoneal; 14:msc:1e6:cells:intraovarian"}
FREE = ["s_M", "p_protect"]


@pytest.fixture(scope="module")
def data(mouse):
    return synthetic_dataset(mouse, ARMS, [7, 21, 42], params={"s_M": 1e-6, "p_protect": 0.7}, seed=4)


def test_a_problem_pickles_without_its_model_and_evaluates_alike(mouse, data):
    problem = FitProblem.build(mouse, data, FREE)
    copy = pickle.loads(pickle.dumps(problem))
    assert copy.model.compiled.key == mouse.compiled.key
    theta = problem.initial_vector()
    np.testing.assert_array_equal(copy.residuals(theta), problem.residuals(theta))


def test_multistart_results_do_not_depend_on_the_executor(mouse, data):
    """Serial, a process pool and threads: the same estimates, chi2 of every start and counts."""
    results = [po.fit(mouse, data, FREE, multistart=2, seed=3, executor=executor)
               for executor in (None, "serial", "processes", ThreadPoolExecutor(max_workers=2))]
    reference = results[0]
    assert len(reference.multistart) == 3
    for other in results[1:]:
        assert [r["chi2"] for r in other.multistart] == [r["chi2"] for r in reference.multistart]
        assert [r["theta"] for r in other.multistart] == [r["theta"] for r in reference.multistart]
        assert [p.value for p in other.parameters] == [p.value for p in reference.parameters]
        assert other.n_evaluations == reference.n_evaluations


def test_a_model_that_cannot_be_rebuilt_elsewhere_is_refused(mouse, data):
    model = po.load_model("mouse")
    model.parameter_set = model.parameter_set.with_values({"s_M": 2e-6})  # not the bundled set
    with pytest.raises(ParameterError, match="rebuilt"):
        po.fit(model, data, FREE, multistart=1, executor=ThreadPoolExecutor(max_workers=1))


def test_profiles_do_not_depend_on_the_executor(mouse, data):
    """Every side of every profile as its own task: the same grids, intervals and flags."""
    results = [po.fit(mouse, data, FREE, profiles=True, executor=executor)
               for executor in (None, "processes", ThreadPoolExecutor(max_workers=2))]
    reference = results[0]
    assert set(reference.profiles) == set(FREE)
    for other in results[1:]:
        assert other.profiles == reference.profiles
        for p, q in zip(other.parameters, reference.parameters):
            assert (p.ci_low, p.ci_high, p.ci_method, p.identifiability) == (q.ci_low, q.ci_high, q.ci_method,
                                                                            q.identifiability)


def test_an_evidence_calibration_profiles_alike_on_processes():
    """The pooled-evidence objective holds models; they pickle without their generated code, so the profiles
    of an evidence calibration run on a process pool, with the same results as serially."""
    from poi_ode.mbma import calibrate, evidence_objective

    objective, _ = evidence_objective("exosome", "rescue")
    copy = pickle.loads(pickle.dumps(objective))
    assert all(copy.models[s].compiled.key == m.compiled.key for s, m in objective.models.items())
    free = ["s_X", "t_half_X_ov"]
    serial, pooled = (calibrate(objective, free, profiles=free, executor=e) for e in (None, "processes"))
    assert pooled.profiles == serial.profiles
    assert [(p.ci_low, p.ci_high) for p in pooled.parameters] == [(p.ci_low, p.ci_high) for p in serial.parameters]
