"""Fitting a model to data: :func:`fit` (multistart, intervals, identifiability, goodness of fit) and
:func:`exclude_rows`; the assembly of the :class:`~poi_ode.fitting.result.FitResult`.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..data import Dataset, read_dataset
from ..data.columns import column_objects
from ..errors import ParameterError, PoiOdeError
from ..simulate import METHODS as SOLVERS
from .jacobian import finite_difference_jacobian
from .mcmc import _sample
from .minimise import METHODS, _chi2, _minimise
from .problem import FitProblem
from .profiles import apply_profile, profile, profile_side
from .result import Z95, FitResult, ParameterEstimate, _clean, jacobian_information

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..model.core import Model

JACOBIANS = ("auto", "analytic", "fd")
"""Values of ``fit(jacobian=...)``."""


def fit(
    model: "Model",
    data: "Dataset | str | Path | pd.DataFrame | None",
    free: Sequence[str] | None = None,
    *,
    per_study: Sequence[str] = (),
    per_arm: Sequence[str] = (),
    per_subject: Sequence[str] = (),
    priors: Mapping[str, Mapping[str, float]] | None = None,
    use_set_priors: bool = True,
    error_model: str = "lognormal",
    sigma: "float | Mapping[str, float | str]" = 0.3,
    regimens: Mapping[str, str] | None = None,
    initial: Mapping[str, Any] | str | None = None,
    scales: Sequence[str] = (),
    exclude: Sequence[int] = (),
    method: str = "least_squares",
    multistart: int = 0,
    seed: int = 0,
    max_nfev: int = 2000,
    profiles: Sequence[str] | bool = False,
    mcmc_steps: int = 0,
    mcmc_walkers: int | None = None,
    mcmc_burn: int | None = None,
    jacobian: str = "auto",
    solver: str = "auto",
    name: str | None = None,
    evidence: Any = None,
    executor: Any = None,
) -> FitResult:
    """Calibrate ``model`` to ``data``.

    Parameters
    ----------
    model : Model
        With its parameter set (values outside ``free`` stay fixed).
    data : Dataset, path, DataFrame or None
        In the documented format (:func:`poi_ode.read_dataset`); one species. A relative value
        (unit ``%`` or ``fold`` with a ``reference_arm``) is predicted as the simulated value of
        its arm over that of the reference arm at the same day. None: fit ``evidence`` alone.
    free : list of str, optional
        Parameters to estimate, shared by all studies. Default: :func:`default_free`.
    per_study, per_arm, per_subject : list of str
        Parameters estimated separately for each study, each arm (``"STUDY/ARM"``), or each
        subject of individual data (fixed effects; keys ``name__scope``).
    priors : mapping, optional
        ``{name: {"median": m, "sd_log10": s}}`` (log-scale parameters, log-normal) or
        ``{name: {"mean": m, "sd": s}}`` (linear ones), added as residuals (MAP). Priors that
        the parameter set gives (``prior`` in its TOML) apply to free parameters unless
        ``use_set_priors=False``; ``priors`` overrides them.
    error_model : {"lognormal", "proportional", "additive"}
        Residual model. The scale of each residual is the standard error of the published
        statistic where the data give SD or SEM and n, else ``sigma`` (a CV for log-normal and
        proportional, a fraction of the analyte's mean observed value for additive): one number,
        or one per analyte (``{"primordial": 0.9, "*": 0.3}``, ``"*"`` for the others). For an
        analyte given ``"spread"``, the published between-subject spread (SD, or IQR / 1.349) is
        the scale where a row prints one: a typical individual fitted to population summaries.
    regimens, initial : mapping, optional
        Per arm (``"STUDY/ARM"`` or ``"ARM"``): regimen text (``DAY:AGENT:AMOUNT:UNIT[:ROUTE]; ...``)
        and initial state (``"healthy"``, ``"poi"``, ``"first_observation"``), overriding the
        data columns.
    scales : list of str
        Analytes that get a free assay scale factor per study (required for cytokines). An
        analyte reported in a unit that does not convert to the model's (mouse FSH in mIU/mL
        against a model in ng/mL, arbitrary units) gets one automatically, with an
        :class:`~poi_ode.errors.AssayScaleWarning` and a line in ``result.warnings`` naming the
        study, analyte and unit.
    exclude : list of int
        Data rows to leave out, as numbered in the file (header = row 1; the ``row`` column of
        the dataset); each is listed in ``result.warnings`` and ``result.config["excluded_rows"]``.
    method : {"least_squares", "leastsq", "differential_evolution"}
    multistart : int
        Extra local fits from Latin-hypercube points in the bounds (seeded).
    profiles : list of str or True
        Parameters to profile (True: all); intervals then come from the profile likelihood.
    jacobian : {"auto", "analytic", "fd"}
        Jacobian of the residuals for ``least_squares`` and for the covariance. ``"analytic"``:
        through the forward sensitivity equations of states and outputs (falling back to
        central differences where the sensitivities cannot be integrated; an objective without
        an analytic Jacobian, with relative values or published pooled effects, is differenced
        as for ``"fd"``). ``"fd"``: finite differences (lmfit's forward differences in the
        optimiser, central ones for the covariance). ``"auto"`` (default): ``"analytic"`` with
        two or more free parameters, ``"fd"`` with one, where a difference Jacobian is a single
        residual evaluation and costs less than a sensitivity run, which integrates the states
        too (``benchmarks/bench_calibration.py``). Likelihood profiles use differences either way.
    solver : {"auto", "rodas", "LSODA", "BDF", "Radau"}
        Engine of the simulations behind the residuals (``method`` of :func:`poi_ode.simulate`;
        default ``"auto"``, the compiled RODAS4 where it builds). The analytic Jacobian's
        forward sensitivities are integrated by the compiled engine too for ``"auto"`` and
        ``"rodas"`` (where it builds), by scipy's ``odeint`` for the other solvers.
    executor : None, "serial", "processes" or an executor with ``submit``
        Where the local fits of a multistart and the sides of the likelihood profiles run: None
        or ``"serial"`` (default) one after the other here;
        ``"processes"`` a local process pool; a ``concurrent.futures.Executor`` or a dask
        ``Client``. The model is rebuilt by name in each worker (a model from
        :func:`~poi_ode.load_model` with its bundled parameter set). Results, evaluation
        counts included, are the same whichever runs them.
    mcmc_steps, mcmc_walkers, mcmc_burn : int
        If ``mcmc_steps`` > 0, sample the posterior with emcee through lmfit (seeded with
        ``seed``; needs the ``mcmc`` extra), starting at the estimate; samples are stored in
        ``result.samples`` and give the intervals (2.5-97.5 percentiles).
    evidence : EvidenceObjective, optional
        Published pooled effects (:class:`poi_ode.mbma.EvidenceObjective`) entered as likelihood
        terms next to the data: each adds ``(predicted - published) / SE`` and each analyte its
        within-group spread ``cv_<analyte>`` (a free parameter with a prior). Shared free
        parameters apply to every species model of the objective.

    Returns
    -------
    FitResult
        Also when the optimiser fails: ``status`` and ``message`` say why.
    """
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, not {method!r}")
    if jacobian not in JACOBIANS:
        raise ParameterError(f"jacobian must be one of {JACOBIANS}, not {jacobian!r}")
    if solver not in SOLVERS:
        raise ParameterError(f"solver must be one of {SOLVERS}, not {solver!r}")
    if int(multistart) != multistart or multistart < 0:
        raise ParameterError(f"multistart must be a whole number >= 0, got {multistart!r}")
    if data is None and evidence is None:
        raise ParameterError("fit needs data, evidence or both")
    dataset = Dataset.empty() if data is None else data if isinstance(data, Dataset) else read_dataset(data)
    dataset, excluded = exclude_rows(dataset, exclude)
    t0 = time.perf_counter()
    problem = FitProblem.build(model, dataset, free, per_study, priors, error_model, sigma, regimens, initial, scales,
                               per_arm, per_subject, use_set_priors, evidence)
    problem.solver = solver
    problem.excluded[:0] = excluded
    jacobian = choose_jacobian(problem, jacobian)
    lo, hi = problem.bounds()
    starts = [problem.initial_vector()]
    if multistart:
        from scipy.stats import qmc

        sampler = qmc.LatinHypercube(d=len(lo), seed=seed)
        starts += list(qmc.scale(sampler.random(int(multistart)), lo, hi))
    tasks = [(problem, start, method, max_nfev, seed + k, jacobian) for k, start in enumerate(starts)]
    if executor is None or executor == "serial" or len(tasks) == 1:
        runs = [_one_start(task)[0] for task in tasks]
    else:
        runs = []
        counts = (problem.n_evaluations, problem.n_failures)
        for run, evaluations, failures, last in _map_tasks(executor, _one_start, tasks):
            runs.append(run)  # in start order, whichever process ran it
            problem.n_evaluations += evaluations - counts[0]
            problem.n_failures += failures - counts[1]
            problem.last_failure = last if failures > counts[1] else problem.last_failure
    best = min(runs, key=lambda r: r["chi2"])
    label = name or (dataset.name if data is not None else "evidence")
    result = _assemble(problem, best, runs, method, time.perf_counter() - t0, label, jacobian)
    if exclude:
        result.config["excluded_rows"] = sorted({int(r) for r in exclude})
    if profiles and result.status != "failed":
        names = [p.key for p in result.parameters] if profiles is True else list(profiles)
        keys = [f.key for f in problem.free]
        if executor is None or executor == "serial" or not set(names) <= set(keys):
            for key in names:  # (an unknown name: profile() says so)
                profile(result, key, model=model, dataset=dataset, _problem=problem)
        else:  # both sides of every profile at once, each warm-started along its own steps
            theta_hat = result.internal_estimate()
            side_tasks = [(problem, theta_hat, keys.index(key), side, result.chi2) for key in names for side in (-1, 1)]
            sides = _map_tasks(executor, _profile_side_task, side_tasks)
            for n, key in enumerate(names):
                apply_profile(result, problem, key, sides[2 * n: 2 * n + 2])
    if mcmc_steps and result.status != "failed":
        _sample(result, problem, int(mcmc_steps), mcmc_walkers, mcmc_burn, seed)
    result.wall_time_s = time.perf_counter() - t0
    return result


def choose_jacobian(problem: FitProblem, jacobian: str = "auto") -> str:
    """The Jacobian a fit of ``problem`` uses: ``"auto"`` is ``"analytic"`` with two or more free
    parameters, ``"fd"`` with one (see :func:`fit`); the others are themselves."""
    if jacobian != "auto":
        return jacobian
    return "analytic" if len(problem.free) >= 2 else "fd"


def _one_start(task: tuple) -> tuple[dict, int, int, str | None]:
    """One local fit of a multistart (in this or a worker process): its run record and the
    problem's evaluation and failure counters after it."""
    problem, start, method, max_nfev, seed, jacobian = task
    try:
        theta, out = _minimise(problem, start, method, max_nfev, seed, jacobian)
        run = dict(start=start.tolist(), theta=theta.tolist(), chi2=_chi2(problem, theta),
                   success=bool(out.success), message=str(out.message), nfev=int(out.nfev))
    except (PoiOdeError, ValueError, np.linalg.LinAlgError) as exc:
        run = dict(start=start.tolist(), theta=None, chi2=math.inf, success=False, message=str(exc), nfev=0)
    return run, problem.n_evaluations, problem.n_failures, getattr(problem, "last_failure", None)


def _profile_side_task(task: tuple) -> tuple[list[float], list[float], list[list[float]]]:
    return profile_side(*task)


def _map_tasks(executor: Any, fn, tasks: list[tuple]) -> list:
    """``fn`` of every task (its first item a FitProblem), in order, on ``"processes"`` (a local
    process pool) or any object with ``submit`` (a ``concurrent.futures.Executor``, a dask ``Client``)."""
    own = None
    if executor == "processes":
        import os
        from concurrent.futures import ProcessPoolExecutor

        own = executor = ProcessPoolExecutor(max_workers=min(len(tasks), os.cpu_count() or 1))
    if not hasattr(executor, "submit"):
        raise ParameterError(f"executor must be 'serial', 'processes' or an executor with submit(), not {executor!r}")
    try:
        import pickle

        # each task its own copy of the problem (its counters and caches), as a process would get it,
        # also on executors that do not pickle (threads)
        tasks = [(pickle.loads(pickle.dumps(task[0])), *task[1:]) for task in tasks]
        futures = [executor.submit(fn, task) for task in tasks]
        return [f.result() for f in futures]
    finally:
        if own is not None:
            own.shutdown()


def exclude_rows(dataset: Dataset, rows: Sequence[int]) -> tuple[Dataset, list[str]]:
    """``dataset`` without the given file rows, and one note per row left out.

    Parameters
    ----------
    dataset : Dataset
    rows : sequence of int
        Row numbers as in the file (header = row 1, data from 2): the ``row`` column.

    Raises
    ------
    ParameterError
        Naming a row that is not a data row of the dataset.
    """
    if not len(rows):
        return dataset, []
    frame = dataset.frame
    numbers = frame["row"].to_numpy()
    wanted = []
    for r in rows:
        try:
            number = int(r)
        except (TypeError, ValueError):
            raise ParameterError(f"exclude: {r!r} is not a row number") from None
        if number != r or number not in numbers:
            raise ParameterError(f"exclude: row {r!r} is not a data row of {dataset.name} (data rows are "
                                 f"{int(numbers.min())}-{int(numbers.max())}; the header is row 1)")
        wanted.append(number)
    drop = np.isin(numbers, wanted)
    if drop.all():
        raise ParameterError(f"exclude: rows {sorted(set(wanted))} are every row of {dataset.name}; nothing is left to "
                             f"fit")
    notes = []
    for i in np.flatnonzero(drop):
        day = frame["time_days"].iloc[i]
        when = f"day {day:g}" if isinstance(day, float) and math.isfinite(day) else f"age {frame['age_years'].iloc[i]}"
        notes.append(f"row {int(numbers[i])} ({frame['study_id'].iloc[i]}/{frame['arm'].iloc[i]}, {when}, "
                     f"{frame['analyte'].iloc[i]}) excluded by the caller (exclude)")
    return Dataset(frame[~drop].reset_index(drop=True), dataset.name, dict(dataset.meta)), notes


def _assemble(problem: FitProblem, best: dict, runs: list[dict], method: str, wall: float, name: str,
              jacobian: str = "fd") -> FitResult:
    warn: list[str] = []
    if best["theta"] is None or not math.isfinite(best["chi2"]):
        theta = problem.initial_vector()
        status, success, message = "failed", False, best["message"] or "no run finished"
    else:
        theta = np.array(best["theta"])
        success = bool(best["success"])
        status, message = ("converged" if success else "not converged"), best["message"]
    failures_before = problem.n_failures
    pred = problem.predict(theta)
    if not np.all(np.isfinite(pred[problem.used])):
        status, success = "failed", False
        message = f"the model cannot be simulated at the estimate: {problem.last_failure}"
    elif problem.n_failures > failures_before:
        pass
    res = problem.residuals(theta)
    chi2 = float(res @ res)
    n_obs = int(problem.used.sum()) + problem.n_evidence
    k = len(problem.free)
    jac = np.full((len(res), k), np.nan)
    if status != "failed":
        analytic = problem.jacobian(theta) if jacobian == "analytic" else None
        jac = analytic if analytic is not None else finite_difference_jacobian(problem, theta)
    cov = corr = None
    sv: list[float] = []
    se = np.full(k, np.nan)
    flat = np.zeros(k, bool)
    if np.all(np.isfinite(jac)):
        sv_arr, flat, cov_m = jacobian_information(jac)
        sv = sv_arr.tolist()
        if flat.any():  # parameters moving along a flat direction cannot be estimated
            warn.append("the Fisher information is singular: "
                        + ", ".join(problem.free[j].key for j in np.flatnonzero(flat))
                        + " cannot be identified from these data (flat direction)")
        if not flat.all():
            se = np.sqrt(np.clip(np.diag(cov_m), 0, None))
            d = np.where(se > 0, se, np.nan)
            with np.errstate(invalid="ignore"):
                corr_m = cov_m / np.outer(d, d)
            cov, corr = (cov_m.tolist(), corr_m.tolist()) if not flat.any() else (None, corr_m.tolist())
    dof = n_obs + problem.n_priors - k
    estimates = []
    for j, f in enumerate(problem.free):
        value = f.to_value(theta[j])
        ci_low = ci_high = None
        ident = "not identifiable (flat direction)"
        if math.isfinite(se[j]):
            lo_i, hi_i = theta[j] - Z95 * se[j], theta[j] + Z95 * se[j]
            ci_low, ci_high = f.to_value(max(lo_i, f.lower)), f.to_value(min(hi_i, f.upper))
            if lo_i < f.lower or hi_i > f.upper:
                ident = "poorly identified (interval reaches a bound)"
            else:
                ident = "identifiable (local, from the Jacobian)"
        if f.prior is not None and ident.startswith(("identifiable", "poorly")):
            data_only = _data_only_se(jac, problem, j)
            if not math.isfinite(data_only) or data_only > 3 * se[j]:
                ident += "; interval mostly from the prior"
        estimates.append(ParameterEstimate(
            name=f.name, scope=f.scope, unit=f.unit, scale=f.scale, value=value, initial=f.to_value(f.initial),
            lower_bound=f.to_value(f.lower), upper_bound=f.to_value(f.upper),
            stderr_internal=float(se[j]) if math.isfinite(se[j]) else None,
            ci_low=ci_low, ci_high=ci_high, ci_method="Wald (Jacobian)" if ci_low is not None else "none",
            identifiability=ident, prior=list(f.prior) if f.prior is not None else None,
        ))
        if (abs(theta[j] - f.lower) < 1e-6 * max(1, abs(f.lower))
                or abs(theta[j] - f.upper) < 1e-6 * max(1, abs(f.upper))):
            warn.append(f"{f.key} ends at a bound ({value:.4g} {f.unit})")
    if dof <= 0:
        warn.append(f"{n_obs} observations and {k} free parameters: no residual degrees of freedom; "
                    "intervals rest on the assumed or published spreads alone")
    if problem.n_failures:
        warn.append(f"{problem.n_failures} simulations failed during the fit and were penalised "
                    f"(last: {problem.last_failure})")
    assumed = [s for s, u in zip(problem.sigma_source, problem.used) if u and s.startswith("assumed")]
    if assumed:
        kinds = ", ".join(f"{n} with {s.removeprefix('assumed ')}" for s, n in Counter(assumed).items())
        warn.append(f"{len(assumed)} of {n_obs} observations carry no SD/SEM with n: their residual scale is "
                    f"assumed ({kinds})")
    if dof > 0 and chi2 / dof > 4:
        warn.append(f"reduced chi2 {chi2 / dof:.2g} > 4: the model misfits or the spreads are too small")
    spread = [r["chi2"] for r in runs if math.isfinite(r["chi2"])]
    if len(spread) > 1 and max(spread) - min(spread) > 1.0:
        n_near = sum(c - min(spread) < 1.0 for c in spread)
        warn.append(f"multistart: {n_near} of {len(spread)} starts reached the best chi2 (within 1)")
    warn += problem.notes
    warn += problem.excluded
    observations, gof = _observation_table(problem, pred, res)
    raw = dict(
        status=status, success=success, message=str(message), method=method, species=problem.base.species,
        modules=[m.name for m in problem.model.modules], parameters=[vars(e) for e in estimates],
        covariance=cov, correlation=corr, chi2=chi2, n_observations=n_obs, n_priors=problem.n_priors,
        n_free=k, aic=chi2 + 2 * k, bic=chi2 + k * math.log(max(n_obs, 1)),
        reduced_chi2=chi2 / dof if dof > 0 else None, observations=observations, goodness_of_fit=gof,
        config=_config(problem, name), n_evaluations=problem.n_evaluations,
        n_failed_simulations=problem.n_failures, wall_time_s=wall, warnings=warn, multistart=runs,
        profiles={}, samples=None, singular_values=sv, evidence=_evidence_table(problem, theta),
    )
    return FitResult.from_dict(_clean(raw))


def _data_only_se(jac: np.ndarray, problem: FitProblem, j: int) -> float:
    """Standard error of parameter j from the data rows alone (without prior rows)."""
    rows = jac[: int(problem.used.sum()) + problem.n_evidence]
    fim = rows.T @ rows
    try:
        variance = float(np.linalg.inv(fim)[j, j])
    except np.linalg.LinAlgError:
        return math.inf
    return math.sqrt(variance) if variance > 0 else math.inf  # not positive: the data alone do not fix it


def _evidence_table(problem: FitProblem, theta: np.ndarray) -> list[dict[str, Any]]:
    """Published and predicted pooled effect of every evidence target at ``theta`` (empty without evidence)."""
    if problem.evidence is None:
        return []
    values, cv = problem.evidence_values(theta)
    try:
        return problem.evidence.table(values, cv).to_dict("records")
    except PoiOdeError as exc:
        return [dict(error=str(exc))]


def _observation_table(problem: FitProblem, pred: np.ndarray, res: np.ndarray):
    frame = problem.dataset.frame
    used_idx = np.flatnonzero(problem.used)
    residual = np.full(len(frame), np.nan)
    residual[used_idx] = res[: len(used_idx)]
    unit_of: dict[int, tuple] = {}
    for arm in problem.arms:
        for k, i in enumerate(arm.rows):
            unit_of[int(i)] = (arm, float(arm.times[arm.time_index[k]]))
    rows = []
    n = len(frame)
    names = [c for c in ("row", "study_id", "arm", "subject", "time_days", "age_years", "analyte", "unit_std",
                         "censored", "axis", "reference_arm") if c in frame.columns]
    # each column as Python objects (each value then goes through str/float/int): column by column, the values
    # of frame[names].to_numpy(dtype=object), without building that frame or a Series per column
    col = {c: column_objects(frame, c) for c in names}
    axis = col.get("axis", [None] * n)
    for i in range(n):
        arm, sim_time = unit_of[i]
        on_age_axis = axis[i] == "age"
        rows.append(dict(
            row=int(col["row"][i]), study=str(col["study_id"][i]), arm=str(col["arm"][i]),
            subject=arm.subject, individual=str(col["subject"][i]).strip(),
            time_days=sim_time if on_age_axis else float(col["time_days"][i]),
            age_years=float(col["age_years"][i]) if on_age_axis else None,
            analyte=str(col["analyte"][i]),
            unit=str(col["unit_std"][i]), observed=float(problem.observed[i]), predicted=float(pred[i]),
            sigma=float(problem.sigma[i]), sigma_source=problem.sigma_source[i],
            censored=str(col["censored"][i]), used=bool(problem.used[i]), residual=float(residual[i]),
            reference_arm=str(col["reference_arm"][i]) if "reference_arm" in col else "",
        ))
    gof = []
    for (study, analyte), idx in _groups(rows):
        r = np.array([rows[i]["residual"] for i in idx if rows[i]["used"]])
        if r.size:
            gof.append(dict(study=study, analyte=analyte, n=int(r.size), chi2=float(r @ r),
                            rms=float(np.sqrt(np.mean(r**2)))))
    return rows, gof


def _groups(rows):
    groups: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault((r["study"], r["analyte"]), []).append(i)
    return groups.items()


def _config(problem: FitProblem, name: str) -> dict[str, Any]:
    return dict(
        name=name,
        data_name=problem.dataset.name,
        error_model=problem.error_model,
        free=[f.key for f in problem.free],
        arms=[dict(study=a.study, arm=a.arm, subject=a.subject, scopes=list(a.scopes), regimen="; ".join(
            f"{d.time:g}:{d.agent}:{d.amount:g}:{d.unit}" + (f":{d.route}" if d.route else "") for d in a.regimen),
            initial=a.initial if isinstance(a.initial, str) else "given", age=a.age) for a in problem.arms],
        parameter_set=problem.base.species,
        fixed_parameters={n: p.value for n, p in problem.base.parameters.items()},
    )
