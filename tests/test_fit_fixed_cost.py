"""The fixed cost of ``fit`` cut without changing its result: ``least_squares`` straight through scipy
(against the same run through ``lmfit.Minimizer``), the kept last prediction and Jacobian (against a
fresh evaluation), the one-pass arm grouping of ``iter_arms`` (against a boolean mask per arm)."""
from __future__ import annotations

import numpy as np
import pytest

import poi_ode.fitting.minimise as minimise
from poi_ode.data import iter_arms
from poi_ode.data.synthetic import synthetic_dataset
from poi_ode.fitting import fit
from poi_ode.fitting.problem import FitProblem

CY = "0:cyclophosphamide:120:mg/kg:intraperitoneal"
ARMS = {"ctx": CY, "msc": f"{CY}; 14:msc:1e6:cells:intraovarian"}


@pytest.fixture(scope="module")
def data(mouse):
    return synthetic_dataset(mouse, ARMS, [7, 14, 28], params={"s_M": 3e-6}, seed=3)


def _without_wall_time(result) -> dict:
    out = result.to_dict()
    out.pop("wall_time_s")
    return out


@pytest.mark.parametrize("jacobian", ["analytic", "fd"])
def test_least_squares_through_scipy_gives_the_lmfit_result(mouse, data, monkeypatch, jacobian):
    """Every field of the result (estimate, covariance, chi2, evaluation counts, multistart runs with
    their nfev and messages, observations) equal, bit for bit, to the run through lmfit."""
    results = {}
    for through_lmfit in (True, False):
        monkeypatch.setattr(minimise, "_THROUGH_LMFIT", through_lmfit)
        results[through_lmfit] = fit(mouse, data, ["s_M", "kill_cyclophosphamide"], jacobian=jacobian, multistart=2,
                                     seed=1)
    lm, direct = (_without_wall_time(results[k]) for k in (True, False))
    assert lm["status"] == "converged" and lm["n_evaluations"] > 10
    assert direct == lm


def test_least_squares_aborts_after_max_nfev_as_lmfit_does(mouse, data, monkeypatch):
    problems = {k: FitProblem.build(mouse, data, ["s_M", "kill_cyclophosphamide"]) for k in (True, False)}
    out = {}
    for through_lmfit, problem in problems.items():
        monkeypatch.setattr(minimise, "_THROUGH_LMFIT", through_lmfit)
        theta, result = minimise._minimise(problem, problem.initial_vector() + 0.3, "least_squares", 4, 0, "fd")
        out[through_lmfit] = (theta.tolist(), result.success, result.message, result.nfev, problem.n_evaluations)
    assert out[True][1] is False and out[True][2] == "Fit aborted: number of function evaluations > 4"
    assert out[False] == out[True]


@pytest.mark.parametrize("jacobian", ["analytic", "fd"])
def test_least_squares_run_record_carries_lmfits_counts(mouse, data, monkeypatch, jacobian):
    """What callers read of a run (the benchmarks read njev): the same as lmfit's result."""
    out = {}
    for through_lmfit in (True, False):
        monkeypatch.setattr(minimise, "_THROUGH_LMFIT", through_lmfit)
        problem = FitProblem.build(mouse, data, ["s_M", "kill_cyclophosphamide"])
        _, result = minimise._minimise(problem, problem.initial_vector(), "least_squares", 2000, 0, jacobian)
        out[through_lmfit] = {k: getattr(result, k) for k in ("success", "message", "nfev", "njev", "status",
                                                               "least_squares_nfev")}
    assert out[True]["njev"] > 0 and out[False] == out[True]


def test_kept_prediction_and_jacobian_equal_fresh_ones(mouse, data):
    problem = FitProblem.build(mouse, data, ["s_M", "kill_cyclophosphamide"])
    theta = problem.initial_vector() + 0.1
    pred, jac = problem.predict(theta), problem.jacobian(theta)
    runs = problem.n_simulations  # one per arm
    again, jac_again = problem.predict(theta), problem.jacobian(theta)
    assert problem.n_simulations == runs  # kept: not simulated again
    np.testing.assert_array_equal(again, pred)
    np.testing.assert_array_equal(jac_again, jac)
    again[:] = 0.0  # a copy: the kept values cannot be changed through it
    np.testing.assert_array_equal(problem.predict(theta), pred)
    fresh = FitProblem.build(mouse, data, ["s_M", "kill_cyclophosphamide"])
    np.testing.assert_array_equal(fresh.predict(theta), pred)
    np.testing.assert_array_equal(fresh.jacobian(theta), jac)
    # another point, or other settings at the same point: evaluated again
    problem.predict(theta + 0.01)
    assert problem.n_simulations == 2 * runs
    problem.rtol = 1e-6
    looser = problem.predict(theta)
    assert problem.n_simulations == 3 * runs and not np.array_equal(looser, pred)


def test_a_failed_prediction_is_not_kept(mouse, data):
    """Its failure is counted on every evaluation, as when nothing was kept."""
    problem = FitProblem.build(mouse, data, ["kill_cyclophosphamide"])
    problem.max_steps = 5
    for k in (1, 2):
        problem.predict(problem.initial_vector())
        assert problem.n_failures == 2 * k  # both arms, each time


def test_iter_arms_groups_the_rows_of_each_arm_in_order(mouse, data):
    frame = data.frame
    groups = list(iter_arms(data))
    assert [key for key, _ in groups] == [("SYNTHETIC", "ctx", ""), ("SYNTHETIC", "msc", "")]
    for (study, arm, _), rows in groups:
        mask = (frame["study_id"] == study) & (frame["arm"] == arm)
        assert rows.equals(frame[mask])


def test_vector_of_a_changed_set_equals_the_full_conversion(mouse):
    """A set from with_values takes its root's checked vector with the changed entries converted: the
    numbers of converting every parameter of the set (the reference), also for chains of changes, a value
    given with a unit, and a change of a parameter the model does not use."""
    from poi_ode.parameters import ParameterSet

    base = mouse.require_parameter_set()
    first = base.with_values({"s_M": 2e-6, "kill_cyclophosphamide": (50.0, "kg/g")})
    second = first.with_values({"p_protect": 0.3}).with_values({"s_M": 4e-6})
    for pset in (first, second):
        reference = [pset[d.name].in_unit(d.unit) for d in mouse.parameters]
        np.testing.assert_array_equal(pset.vector(mouse), reference)
        rebuilt = ParameterSet(pset.species, pset.description, dict(pset.parameters), dict(pset.info))
        np.testing.assert_array_equal(rebuilt.vector(mouse), reference)  # (checked and converted in full)
    assert second.vector(mouse)[mouse.parameter_names.index("s_M")] == 4e-6
    vec = second.vector(mouse)
    vec[:] = 0.0  # a copy
    assert second.vector(mouse)[mouse.parameter_names.index("p_protect")] == 0.3
    extra = ParameterSet(base.species, base.description, {**base.parameters, "unused": base["s_M"]}, dict(base.info))
    np.testing.assert_array_equal(extra.with_values({"unused": 1e-6}).vector(mouse), base.vector(mouse))


def test_clean_is_json_safe_as_before():
    from poi_ode.fitting.result import _clean

    value = {"a": [1.0, float("nan"), np.float64(2.5), np.int64(3), np.bool_(True), True, 4, None, "x"],
             1: (np.array([1.0, np.inf]), {"b": float("-inf")})}
    assert _clean(value) == {"a": [1.0, None, 2.5, 3, True, True, 4, None, "x"], "1": [[1.0, None], {"b": None}]}
    assert type(_clean(np.float64(2.5))) is float and type(_clean(np.int64(3))) is int
    flat = {"f": 1.5, "nan": float("nan"), "inf": float("inf"), "s": "x", "np": np.float64(-np.inf), 2: np.int64(4),
            "b": True, "n": None, "sub": np.str_("y")}  # (a dict's plain float and str entries are kept inline)
    assert _clean(flat) == {"f": 1.5, "nan": None, "inf": None, "s": "x", "np": None, "2": 4, "b": True, "n": None,
                            "sub": "y"}
    assert [type(v) for v in _clean(flat).values()] == [float, type(None), type(None), str, type(None), int, bool,
                                                         type(None), np.str_]


def test_is_age_axis_compares_plain_strings_as_pandas_does():
    import pandas as pd

    from poi_ode.data import is_age_axis

    for axis in (["age", "age"], ["age", "day"], ["day"], ["age", None], [None, None]):
        rows = pd.DataFrame({"axis": pd.Series(axis, dtype=object), "time_days": 1.0, "age_years": 30.0})
        assert is_age_axis(rows) == bool((rows["axis"] == "age").all()), axis


def test_iter_arms_strips_subjects_as_before(mouse, data):
    frame = data.frame.copy()
    frame["subject"] = [" s1 ", "s1", "s2"] + ["s2"] * (len(frame) - 3)
    from poi_ode.data import Dataset

    keys = [key for key, _ in iter_arms(Dataset(frame, "subjects", {}))]
    expected = list(dict.fromkeys(zip(frame["study_id"], frame["arm"], frame["subject"].astype(str).str.strip())))
    assert keys == expected
    frame.loc[1, "subject"] = np.nan  # (a missing subject: as the columns' tolist() gave it, "nan")
    keys = [key for key, _ in iter_arms(Dataset(frame, "subjects", {}))]
    before = [str(s).strip() for s in frame["subject"].tolist()]
    assert keys == list(dict.fromkeys(zip(frame["study_id"].tolist(), frame["arm"].tolist(), before)))
    assert Dataset(frame, "subjects", {}).species == list(dict.fromkeys(frame["species"]))


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_float64_check_raises_lmfits_error():
    from lmfit.minimizer import coerce_float64

    for bad in (np.array([1.0, np.nan]), np.array([[np.inf]]), np.array([1e308, 1e308])):
        with pytest.raises(ValueError) as ours:
            minimise._float64(bad)
        with pytest.raises(ValueError) as theirs:
            coerce_float64(bad, nan_policy="raise")
        assert str(ours.value) == str(theirs.value)
    good = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(minimise._float64(good), coerce_float64(good, nan_policy="raise"))
    np.testing.assert_array_equal(minimise._float64(good, ravel=False),
                                  coerce_float64(good, nan_policy="raise", ravel=False))


def test_observation_table_columns_equal_the_frame_wide_conversion(mouse, data):
    """The table reads each column as Python objects from its stored array (column_objects): the values and
    types of ``frame[names].to_numpy(dtype=object)`` (the reference), with missing values and other dtypes."""
    import pandas as pd

    from poi_ode.data.columns import column_objects, column_values

    frame = data.frame.copy()
    n = len(frame)
    frame["subject"] = ["", np.nan] + [" s "] * (n - 2)
    frame.loc[1, "time_days"] = np.nan
    frame["reference_arm"] = pd.Series([None] * n, dtype=object)
    frame["nullable"] = pd.array([1, None] + [3] * (n - 2), dtype="Int64")
    frame["category"] = pd.Categorical(["a", "b"] + ["a"] * (n - 2))
    frame["flag"] = [True, False] + [True] * (n - 2)
    frame["string"] = pd.array(["x", None] + ["y"] * (n - 2), dtype="string")
    frame["when"] = pd.to_datetime(["2020-01-01", None] + ["2021-01-01"] * (n - 2))
    names = [c for c in ("row", "study_id", "arm", "subject", "time_days", "age_years", "analyte", "unit_std",
                         "censored", "axis", "reference_arm", "nullable", "category", "flag", "string", "when")
             if c in frame.columns]
    reference = dict(zip(names, frame[names].to_numpy(dtype=object).T.tolist()))
    for c in names:
        ours, public = column_objects(frame, c), frame[c].to_numpy(dtype=object).tolist()
        for expected in (reference[c], public):
            assert [type(v) for v in ours] == [type(v) for v in expected], c
            assert [str(v) for v in ours] == [str(v) for v in expected], c  # (NaN != NaN: compared as text)
    for c in ("time_days", "value_std", "row", "flag", "nullable"):  # numbers as the set-up reads them: a new array
        ours_f = column_values(frame, c, float)
        np.testing.assert_array_equal(ours_f, frame[c].to_numpy(dtype=float))
        assert ours_f.dtype == frame[c].to_numpy(dtype=float).dtype and ours_f.flags.writeable
        ours_f[:] = -1.0
        assert not (frame[c].to_numpy(dtype=float) == -1.0).any()  # (the frame is left alone)
    twice = pd.concat([frame[["arm"]], frame[["arm"]]], axis=1)  # a repeated name: through the Series
    assert column_objects(twice, "arm") == twice["arm"].to_numpy(dtype=object).tolist()



def test_kept_parameter_sets_equal_fresh_ones(mouse, data):
    """The sets of the last point are kept (residuals, then the Jacobian at the same point): the same values as
    sets built afresh, in a new dict each time; another point gets new sets; a bad point raises every time."""
    from poi_ode.errors import ParameterError

    problem = FitProblem.build(mouse, data, ["s_M", "kill_cyclophosphamide"])
    theta = problem.initial_vector() + 0.05
    first = problem.parameter_sets(theta)
    again = problem.parameter_sets(theta)
    assert again is not first and again == first
    again.clear()  # a caller's dict: the kept sets are not changed through it
    fresh = FitProblem.build(mouse, data, ["s_M", "kill_cyclophosphamide"])._parameter_sets(theta)
    kept = problem.parameter_sets(theta)
    assert list(kept) == list(fresh)
    for label, pset in kept.items():
        np.testing.assert_array_equal(pset.vector(mouse), fresh[label].vector(mouse))
        assert pset.parameters == fresh[label].parameters
    other = problem.parameter_sets(theta + 0.01)
    assert all(other[k] is not kept[k] for k in kept)
    bad = problem.initial_vector()
    bad[0] = np.nan  # (a value the set refuses; not kept)
    for _ in range(2):
        with pytest.raises(ParameterError, match="s_M"):
            problem.parameter_sets(bad)


def test_kept_residuals_equal_fresh_ones_and_still_count(mouse, data):
    """Residuals asked again at the same point (a fit's estimate): the values of a fresh problem, each call
    counted as an evaluation; another point or other settings evaluate again; a failure is not kept."""
    problem = FitProblem.build(mouse, data, ["s_M", "kill_cyclophosphamide"], priors={"s_M": {"median": 1e-6,
                                                                                             "sd_log10": 1.0}})
    theta = problem.initial_vector() + 0.1
    first = problem.residuals(theta)
    runs = problem.n_simulations
    again = problem.residuals(theta)
    assert problem.n_evaluations == 2 and problem.n_simulations == runs
    np.testing.assert_array_equal(again, first)
    again[:] = 0.0  # a copy
    fresh = FitProblem.build(mouse, data, ["s_M", "kill_cyclophosphamide"], priors={"s_M": {"median": 1e-6,
                                                                                           "sd_log10": 1.0}})
    np.testing.assert_array_equal(problem.residuals(theta), fresh.residuals(theta))
    moved = problem.residuals(theta + 0.01)
    assert problem.n_simulations == 2 * runs and not np.array_equal(moved, first)
    problem.rtol = 1e-6
    problem.residuals(theta)
    assert problem.n_simulations == 3 * runs
    problem.max_steps = 5
    for k in (1, 2):
        problem.residuals(problem.initial_vector())
        assert problem.n_failures == 2 * k  # both arms, each time
