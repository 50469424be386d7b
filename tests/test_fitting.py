"""Calibration: recovery of known parameters from synthetic data, intervals, failures, JSON."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

import poi_ode as po
from poi_ode.data.synthetic import synthetic_dataset
from poi_ode.fitting import FitResult, fit
from poi_ode.fitting.problem import FitProblem

INDUCTION = "0:cyclophosphamide:120:mg/kg:intraperitoneal; 0:busulfan:30:mg/kg:intraperitoneal"
ARMS = {
    "CTX+BUS": INDUCTION,
    "MSC 1e6": INDUCTION + "; 14:msc:1e6:cells:intraovarian",
    "MSC 4e6": INDUCTION + "; 14:msc:4e6:cells:intraovarian",
}
TIMES = [7, 14, 21, 28, 42, 56]
TRUTH = {"s_M": 1.0e-6, "p_protect": 0.7}


def _data(mouse, seed, params=TRUTH, **kw):
    return synthetic_dataset(mouse, ARMS, TIMES, params=params, seed=seed, **kw)


@pytest.fixture(scope="module")
def fitted(mouse):
    data = _data(mouse, seed=11)
    return fit(mouse, data, free=list(TRUTH), profiles=True), data


def test_synthetic_recovery_true_values_inside_intervals(fitted):
    """Recovery within 3.3 standard errors (99.9%) for one seed; the 95% coverage itself is
    tested over seeds by test_interval_coverage_is_near_nominal."""
    result, _ = fitted
    assert result.status == "converged" and result.success
    for name, true in TRUTH.items():
        p = result[name]
        internal = (lambda v: np.log10(v)) if p.scale == "log" else (lambda v: v)
        assert abs(internal(true) - internal(p.value)) <= 3.29 * p.stderr_internal, (name, p.value, true)
        assert p.identifiability.startswith("identifiable")
    assert result.n_observations == 36 and result.n_failed_simulations == 0
    assert 0.3 < result.reduced_chi2 < 3


def test_synthetic_data_is_labelled(fitted):
    _, data = fitted
    assert set(data.frame["confidence"]) == {"synthetic"}
    assert data.frame["citation"].str.startswith("synthetic").all()


@pytest.mark.slow
def test_interval_coverage_is_near_nominal():
    """Over repeated seeds, the 95% intervals contain the truth about 95% of the time.

    The intervals of a fit without profiles are Wald intervals (from the covariance), valid where the model is
    close to linear in the free parameters over their spread: the transient mechanism. Under the bundled rescue
    mechanism the rescued reserve makes the outputs strongly non-linear in ``s_M`` and the Wald intervals
    under-cover (17 of 24 measured); profiles are the intervals to use there."""
    mouse = po.load_model("mouse", mechanism="transient")
    hits = total = 0
    for seed in range(100, 112):
        result = fit(mouse, _data(mouse, seed), free=list(TRUTH))
        for name, true in TRUTH.items():
            p = result[name]
            hits += p.ci_low <= true <= p.ci_high
            total += 1
    # binomial(24, 0.95): P(hits < 19) < 0.01
    assert hits >= 19, f"coverage {hits}/{total}"


def test_json_round_trip_is_lossless(fitted, tmp_path):
    result, _ = fitted
    path = result.to_json(tmp_path / "fit.json")
    again = FitResult.from_json(path)
    assert again == result
    assert again.report() == result.report()


def test_report_names_parameters_intervals_and_gof(fitted):
    text = fitted[0].report()
    for piece in ("s_M", "p_protect", "95% CI", "identifiab", "AIC", "BIC", "SYNTHETIC", "AMH", "FSH"):
        assert piece in text


def test_fitted_parameter_set_is_marked(fitted, mouse):
    pset = fitted[0].parameter_set(mouse.parameter_set)
    assert pset["s_M"].kind == "fitted" and pset["s_M"].value == fitted[0]["s_M"].value
    assert pset["t_half_AMH"].kind == mouse.parameter_set["t_half_AMH"].kind


def test_plot_draws_data_and_fit(fitted, mouse):
    fig = fitted[0].plot(mouse, bands=5)
    assert len(fig.axes) >= 6
    fitted[0].plot_profiles()
    assert len(fitted[0].plot_residuals().axes) == 2


def test_non_identifiable_parameter_is_flagged(mouse):
    """Exosome potency cannot be learnt from arms without exosomes: flat profile."""
    data = _data(mouse, seed=3)
    result = fit(mouse, data, free=["s_M", "s_X"], profiles=["s_X"])
    assert result["s_X"].identifiability.startswith("not identifiable")
    assert result["s_M"].ci_low is not None


def test_prior_pulls_an_unidentifiable_parameter(mouse):
    data = _data(mouse, seed=4)
    prior = {"s_X": {"median": 1e-3, "sd_log10": 0.1}}
    result = fit(mouse, data, free=["s_M", "s_X"], priors=prior)
    assert result["s_X"].value == pytest.approx(1e-3, rel=0.05)
    assert "prior" in result["s_X"].identifiability
    assert result.n_priors == 1


def test_fit_that_cannot_simulate_returns_a_failed_result(mouse):
    """Every simulation fails (a step budget of 5): a diagnosable result, no exception."""
    data = _data(mouse, seed=5)
    problem = FitProblem.build(mouse, data, free=["s_M"])
    problem.max_steps = 5  # the solver gives up
    residuals = problem.residuals(problem.initial_vector())
    assert np.all(residuals[: int(problem.used.sum())] == 1e3) and problem.n_failures == 3
    assert "SYNTHETIC" in problem.last_failure


def test_compiled_and_scipy_solvers_reach_the_same_optimum(mouse):
    data = _data(mouse, seed=12)
    compiled = fit(mouse, data, free=["s_M"], solver="rodas")
    scipy_run = fit(mouse, data, free=["s_M"], solver="LSODA")
    assert compiled.chi2 == pytest.approx(scipy_run.chi2, rel=1e-5)
    # the optima agree to a small fraction of the estimate's standard error (the objective is flat
    # near its minimum, so the optimiser's ftol allows more than 1e-3 relative along it)
    gap = abs(np.log10(compiled.values["s_M"]) - np.log10(scipy_run.values["s_M"]))
    assert gap <= 0.05 * compiled["s_M"].stderr_internal
    with pytest.raises(po.ParameterError, match="solver"):
        fit(mouse, data, free=["s_M"], solver="euler")


def test_unconverged_fit_reports_status(mouse):
    data = _data(mouse, seed=6)
    result = fit(mouse, data, free=list(TRUTH), max_nfev=2)
    assert result.status in ("not converged", "converged")
    assert result.message
    assert result.status == "not converged"


def test_censored_observation_contributes_the_normal_tail(mouse):
    """A value below the limit L contributes -2 log Phi((ln L - ln mu)/sigma) to chi2."""
    data = _data(mouse, seed=7)
    derived = ("row", "value_std", "spread_std", "se_std", "unit_std")
    frame = data.frame[[c for c in data.frame.columns if c not in derived]].astype(str)
    frame.loc[0, ["censored", "spread_type", "spread", "n"]] = ["below", "none", "", ""]
    data = po.read_dataset(frame)
    problem = FitProblem.build(mouse, data, free=["s_M"], sigma=0.3)
    theta = problem.initial_vector()
    r = problem.residuals(theta)
    mu = problem.predict(theta)[0]
    z = (math.log(data.frame["value_std"][0]) - math.log(mu)) / 0.3
    assert r[0] ** 2 == pytest.approx(-2 * norm.logcdf(z), rel=1e-9)


def test_per_study_parameters(mouse):
    a = _data(mouse, seed=8, study_id="A")
    b = synthetic_dataset(mouse, ARMS, TIMES, params={**TRUTH, "s_M": 4e-6}, seed=9, study_id="B")
    result = fit(mouse, a + b, free=["p_protect"], per_study=["s_M"])
    assert result["s_M__A"].ci_low <= 1e-6 <= result["s_M__A"].ci_high
    assert result["s_M__B"].ci_low <= 4e-6 <= result["s_M__B"].ci_high


def test_multistart_and_methods_are_seeded(mouse):
    data = _data(mouse, seed=10)
    one = fit(mouse, data, free=["s_M"], multistart=2, seed=1)
    two = fit(mouse, data, free=["s_M"], multistart=2, seed=1)
    assert [r["start"] for r in one.multistart] == [r["start"] for r in two.multistart]
    assert len(one.multistart) == 3
    de = fit(mouse, data, free=["s_M"], method="differential_evolution", max_nfev=150, seed=2)
    assert de["s_M"].value == pytest.approx(one["s_M"].value, rel=0.05)


def test_mcmc_samples_are_reproducible(mouse):
    pytest.importorskip("emcee")
    data = synthetic_dataset(mouse, {"MSC": ARMS["MSC 1e6"]}, [14, 28], params=TRUTH, seed=12)
    kw = dict(free=["s_M"], mcmc_steps=30, mcmc_walkers=6, seed=3)
    one, two = fit(mouse, data, **kw), fit(mouse, data, **kw)
    assert one.samples["values"] == two.samples["values"]
    assert one["s_M"].ci_method == "posterior (emcee)"
    one.plot_corner()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(free=["no_such"]), "not a parameter"),
        (dict(free=["s_M"], method="magic"), "method must be"),
        (dict(free=["s_M"], error_model="cauchy"), "error_model"),
        (dict(free=["s_M"], priors={"s_X": {"median": 1, "sd_log10": 1}}), "not free"),
        (dict(free=["p_protect"], priors={"p_protect": {"median": 1, "sd_log10": 1}}), "log-normal prior needs"),
        (dict(free=["s_M"], multistart=-1), "multistart"),
    ],
)
def test_bad_fit_arguments(mouse, kwargs, match):
    data = _data(mouse, seed=13)
    with pytest.raises(po.PoiOdeError, match=match):
        fit(mouse, data, **kwargs)


def test_species_mismatch(human, mouse):
    with pytest.raises(po.ParameterError, match="species"):
        fit(human, _data(mouse, seed=14), free=["s_M"])


def test_priors_from_the_parameter_set(mouse, tmp_path):
    """A prior written in the parameter file applies when the parameter is free."""
    text = (Path(po.parameters.__file__).parent / "mouse.toml").read_text(encoding="utf-8")
    text = text.replace("[parameters.s_X]\n", '[parameters.s_X]\nprior = { median = 2e-3, sd_log10 = 0.05 }\n')
    path = tmp_path / "mouse_prior.toml"
    path.write_text(text, encoding="utf-8")
    model = po.load_model("mouse", parameters=str(path))
    data = _data(mouse, seed=15)
    with_prior = fit(model, data, free=["s_M", "s_X"])
    assert with_prior.n_priors == 1 and with_prior["s_X"].value == pytest.approx(2e-3, rel=0.05)
    without = fit(model, data, free=["s_M", "s_X"], use_set_priors=False)
    assert without.n_priors == 0


def test_per_subject_parameters_from_individual_data(mouse):
    """Individual data: each subject simulated on its own, with its own potency."""
    rows = []
    for subject, s_m in (("m1", 5e-7), ("m2", 2e-6)):
        d = synthetic_dataset(mouse, {"MSC": ARMS["MSC 1e6"]}, [21, 28, 42], params={"s_M": s_m}, n=2, cv=0.05,
                              seed=16, study_id="IND")
        f = d.frame[[c for c in d.frame.columns if c not in ("row", "value_std", "spread_std", "se_std", "unit_std")]]
        f = f.astype(str).assign(subject=subject, statistic="individual", n="", spread_type="none", spread="")
        rows.append(f)
    import pandas as pd

    data = po.read_dataset(pd.concat(rows, ignore_index=True))
    result = fit(mouse, data, free=[], per_subject=["s_M"], sigma=0.05)
    low, high = result["s_M__IND_MSC_m1"].value, result["s_M__IND_MSC_m2"].value
    assert low == pytest.approx(5e-7, rel=0.3) and high == pytest.approx(2e-6, rel=0.3)
    fig = result.plot(mouse)
    assert any("m2" in ax.get_title() for ax in fig.axes)


def test_age_axis_fit_recovers_the_reserve_from_cross_sectional_counts(human):
    """Counts of women of different ages (one each, no time_days) are simulated on one untreated
    course from birth; a fit of synthetic counts from known values recovers them."""
    import pandas as pd

    truth = {"k_act": 4.5e-4, "F_prim_start": 9.0e5}
    pset = human.parameter_set.with_values(truth)
    ages = np.array([0.0, 4, 9, 15, 21, 26, 31, 35, 39, 42, 45, 47, 49, 51])
    exact = po.simulate(human, None, times=ages * 365.25, params=pset, initial=po.healthy_state(human, pset, 0.0))
    rng = np.random.default_rng(3)
    counts = exact["F_prim"] * np.exp(rng.normal(0.0, 0.2, ages.size))
    frame = pd.DataFrame(dict(
        study_id=["SYN"] * ages.size, arm="cross-section", subject=[f"w{k}" for k in range(ages.size)],
        species="human", time_days="", age_years=ages, analyte="primordial", statistic="individual",
        value=counts, unit="follicles", citation="synthetic", confidence="synthetic"))
    data = po.read_dataset(frame)
    result = fit(human, data, free=list(truth), sigma=0.2)
    assert result.status == "converged"
    assert len(result.config["arms"]) == 1  # fourteen women, one course
    for name, true in truth.items():
        p = result[name]
        assert abs(np.log10(true) - np.log10(p.value)) <= 3.29 * p.stderr_internal, (name, p.value, true)
    assert 0.2 < result.reduced_chi2 < 3


def test_gaussian_draws_follow_the_covariance_and_stay_on_a_flat_direction():
    from poi_ode.fitting.result import gaussian_draws

    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.6], [0.6, 2.0]])
    draws = gaussian_draws(rng, np.array([1.0, -1.0]), cov, 20000)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.05)
    np.testing.assert_allclose(draws.mean(axis=0), [1.0, -1.0], atol=0.03)
    flat = np.array([[1.0, 1.0 + 1e-12], [1.0 + 1e-12, 1.0]])  # correlation +1, indefinite by round-off
    line = gaussian_draws(rng, np.zeros(2), flat, 1000)
    np.testing.assert_allclose(line[:, 0], line[:, 1], atol=1e-5)
    assert line[:, 0].std() > 0.9
