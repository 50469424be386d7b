"""Global sensitivity analysis: Morris screening and Sobol' indices of dose-response endpoints.

Each varied parameter is uniform over its bounds: in log10 space (log-uniform) when its scale
is ``"log"``, linearly otherwise. The SALib problem is built from the parameter set's bounds
(``bounds=`` overrides them). The sample is drawn in the calling process, so a seed fixes it,
and evaluated in chunks through the executors of :mod:`poi_ode.predict` (serial, a local
process pool, or any ``concurrent.futures.Executor`` such as dask's ``Client.get_executor()``);
the indices do not depend on the executor.

Failures: a row whose simulation fails (a :class:`~poi_ode.errors.PoiOdeError`) or gives a
non-finite endpoint is counted and listed, with its parameter values, in ``failures``. Morris
and Sobol' estimators need every output, so by default (``on_failure="raise"``) a
:class:`~poi_ode.errors.SimulationError` names the failing rows (its ``failures`` attribute
holds the table). ``on_failure="impute"`` replaces each failed output by the median of that
endpoint's successful outputs, which pulls the effects seen through those rows toward zero;
the result is then flagged (``imputed``, ``note``, the figure's title).

Needs SALib: ``pip install "poi-ode[gsa]"``.
"""
from __future__ import annotations

import importlib
import math
import os
import textwrap
import time
import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..dosing import Dose, Regimen, as_regimen
from ..errors import DosingError, ParameterError, PoiOdeError, SimulationError
from ..predict.executors import execute_tasks
from ..predict.jobs import setup_prediction

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Executor

    import pandas as pd

    from ..fitting.result import FitResult
    from ..model.core import Model
    from ..parameters import ParameterSet

__all__ = ["GlobalSensitivity", "default_parameters", "morris", "sobol"]

EXCLUDED_KINDS = ("definition",)
"""Parameter kinds not varied by default (a definition fixes a scale, it is not uncertain)."""

RESAMPLES = 100
"""Bootstrap resamples of the confidence intervals."""


def _salib(module: str):
    try:
        return importlib.import_module(f"SALib.{module}")
    except ImportError:
        raise PoiOdeError('global sensitivity analysis needs SALib: pip install "poi-ode[gsa]"') from None


@contextmanager
def _seeded(seed: int):
    """Seed NumPy's global generator for the SALib call (older SALib and Sobol' bootstrap with
    seed 0 draw from it), restoring the caller's state afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # constant endpoints give 0/0
            warnings.simplefilter("ignore", RuntimeWarning)
            yield
    finally:
        np.random.set_state(state)


def default_parameters(model: Model, pset: ParameterSet) -> list[str]:
    """Parameters varied by default: the model's, except kind ``"definition"``, with finite
    bounds that differ (in the model's parameter order)."""
    return [n for n in model.parameter_names if pset[n].kind not in EXCLUDED_KINDS
            and math.isfinite(pset[n].lower) and math.isfinite(pset[n].upper) and pset[n].upper > pset[n].lower]


def _space(model: Model, base: ParameterSet, parameters, bounds) -> tuple[list[str], ParameterSet, dict]:
    """Varied names, the set carrying the bounds used, and the SALib problem (log10 for log scale)."""
    bounds = dict(bounds or {})
    if isinstance(parameters, str):
        parameters = [parameters]
    if parameters is None:
        names = default_parameters(model, base)
        names += [n for n in bounds if n not in names]
    else:
        names = list(parameters)
    unknown = [n for n in [*names, *bounds] if n not in model.parameter_names]
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown} for model {model.name!r}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ParameterError(f"parameter(s) {twice} listed more than once")
    stray = [n for n in bounds if n not in names]
    if stray:
        raise ParameterError(f"bounds given for {stray}, which are not among the varied parameters")
    if not names:
        raise ParameterError("no parameters to vary (none with finite, distinct bounds); name them with parameters=")
    new = dict(base.parameters)
    for n, pair in bounds.items():
        try:
            lo, hi = (float(b) for b in pair)
        except (TypeError, ValueError):
            raise ParameterError(f"bounds of {n!r} must be a pair (lower, upper), got {pair!r}") from None
        new[n] = replace(new[n], lower=lo, upper=hi, value=min(max(new[n].value, lo), hi))
    pset = replace(base, parameters=new)
    space = []
    for n in names:
        p = pset[n]
        if not (math.isfinite(p.lower) and math.isfinite(p.upper) and 0 <= p.lower < p.upper):
            raise ParameterError(f"parameter {n!r}: bounds [{p.lower:g}, {p.upper:g}] {p.unit} must be finite, "
                                 "non-negative and lower < upper")
        if p.scale == "log" and p.lower <= 0:
            raise ParameterError(f"parameter {n!r} has log scale: its lower bound must be positive, not {p.lower:g}")
        space.append([math.log10(p.lower), math.log10(p.upper)] if p.scale == "log" else [p.lower, p.upper])
    pset.check_against(model)  # the bounds must lie in each parameter's structural domain
    return names, pset, {"num_vars": len(names), "names": list(names), "bounds": space}


def _values(x: np.ndarray, names: list[str], pset: ParameterSet) -> np.ndarray:
    """Parameter values (the set's units) of sample points in sampling space."""
    out = np.array(x, float)
    for j, n in enumerate(names):
        p = pset[n]
        out[:, j] = np.clip(10 ** out[:, j] if p.scale == "log" else out[:, j], p.lower, p.upper)  # clip round-off
    return out


def _regimen(m: Model, pset: ParameterSet, last_day: float, agent, dose, route, unit, schedule, regimen,
             background) -> Regimen:
    """background + regimen + ``dose`` of ``agent`` on each ``schedule`` day, checked on the model."""
    reg = as_regimen(background) + as_regimen(regimen)
    if agent is not None or dose is not None:
        if agent is None or dose is None:
            raise DosingError("give both agent and dose (amount per administration), or neither")
        target = m.dose_target(agent, route)
        reg = reg + Regimen([Dose(day, agent, dose, unit or target.unit, route) for day in schedule])
    late = [d for d in reg if d.time > last_day]
    if late:
        raise DosingError(f"dose of {late[0].agent!r} at day {late[0].time:g} is after the last endpoint day "
                          f"{last_day:g}")
    reg.resolve(m, pset.vector(m))  # unit and route errors now, not inside a worker
    return reg


def _evaluate(m: Model, pset: ParameterSet, regimen: Regimen, eps: list, times: np.ndarray, initial, age,
              names: list[str], values: np.ndarray, executor, chunk_size: int | None, progress: bool) -> np.ndarray:
    """Endpoints [row, endpoint] of every sample row (NaN where the simulation failed)."""
    from ..model import MODULE_BUILDERS

    if executor != "serial" and any(mod.name not in MODULE_BUILDERS for mod in m.modules):
        executor = "serial"  # a custom module cannot be rebuilt by name in another process
    draws = [dict(zip(names, map(float, row))) for row in values]
    workers = 1 if executor == "serial" else max(1, os.cpu_count() or 1)
    size = chunk_size or max(1, math.ceil(len(draws) / (4 * workers)))
    common = {"spec": (m.require_parameter_set().species, tuple(mod.name for mod in m.modules)), "model": m,
              "parameter_set": pset, "base_values": {}, "regimens": [regimen], "endpoints": eps, "times": times,
              "initial": initial, "age": age}
    tasks = [{**common, "draws": draws[k:k + size]} for k in range(0, len(draws), size)]
    return np.concatenate(execute_tasks(tasks, executor, len(draws), progress), axis=0)[:, 0, :]


# ----------------------------------------------------------------------------- result
@dataclass
class GlobalSensitivity:
    """Global sensitivity indices of endpoints, with the sample and outputs behind them.

    Attributes
    ----------
    method : {"morris", "sobol"}
    endpoints, endpoint_units : list of str
    parameters, parameter_units, scales : list of str
        Varied parameters, their units (as in the parameter set) and sampling scale.
    bounds : ndarray (n_parameters, 2)
        Lower and upper bounds, in ``parameter_units``.
    table : DataFrame
        Tidy: endpoint, parameter, index, value, unit (and partner for second-order ``S2``).
        Morris: ``mu``, ``mu_star``, ``sigma``, ``mu_star_conf`` (endpoint unit: mean
        elementary effect of a step in the parameter, per full range of it in its sampling
        scale). Sobol': ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (fractions of the endpoint's
        variance; ``_conf`` is the half-width of the ``level`` bootstrap interval).
    sample : ndarray (n_evaluations, n_parameters)
        Parameter values simulated, in ``parameter_units``.
    outputs : ndarray (n_evaluations, n_endpoints)
        Endpoint values as simulated (NaN where a row failed).
    failures : DataFrame
        Failed rows: row, the parameter values, the endpoints that failed.
    imputed : bool
        Whether failed outputs were replaced by the endpoint's median before the analysis.
    settings : dict
        Trajectories and levels (Morris) or base sample size and second order (Sobol'), level.
    elapsed : float
        Wall time of the evaluation and analysis, s.
    """

    method: str
    endpoints: list[str]
    endpoint_units: list[str]
    parameters: list[str]
    parameter_units: list[str]
    scales: list[str]
    bounds: np.ndarray
    table: pd.DataFrame
    sample: np.ndarray
    outputs: np.ndarray
    failures: pd.DataFrame
    regimen: Regimen
    seed: int
    settings: dict = field(default_factory=dict)
    imputed: bool = False
    elapsed: float = 0.0

    @property
    def n_evaluations(self) -> int:
        """Number of model simulations (sample rows)."""
        return len(self.sample)

    @property
    def note(self) -> str:
        """One line on failed evaluations ('' when none failed)."""
        if not len(self.failures):
            return ""
        return (f"{len(self.failures)} of {self.n_evaluations} evaluations failed; their outputs were imputed "
                "by the endpoint median")

    @property
    def key(self) -> str:
        """The main index: ``mu_star`` (Morris) or ``ST`` (Sobol')."""
        return "mu_star" if self.method == "morris" else "ST"

    def to_frame(self, wide: bool = False) -> pd.DataFrame:
        """The tidy table, or with ``wide=True`` one row per endpoint and parameter (one column
        per index, second order left out), most influential first within each endpoint."""
        if not wide:
            return self.table.copy()
        first = self.table[self.table["index"].isin(["mu", "mu_star", "sigma", "mu_star_conf", "S1", "S1_conf",
                                                     "ST", "ST_conf"])]
        out = first.pivot(index=["endpoint", "parameter"], columns="index", values="value").reset_index()
        out.columns.name = None
        order = {e: k for k, e in enumerate(self.endpoints)}
        out = out.assign(_e=out["endpoint"].map(order)).sort_values(["_e", self.key], ascending=[True, False])
        return out.drop(columns="_e").reset_index(drop=True)

    def plot(self, endpoints: Sequence[str] | None = None, top: int = 10):
        """One panel per endpoint: Morris mu*-sigma scatter (the ``top`` parameters by mu*
        labelled), or Sobol' S1 and ST bars with their intervals (``top`` parameters by ST).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        from ..predict.plots import axis_label

        names = list(endpoints or self.endpoints)
        unknown = [e for e in names if e not in self.endpoints]
        if unknown:
            raise ParameterError(f"endpoint(s) {unknown} are not in this analysis; it has {self.endpoints}")
        wide = self.to_frame(wide=True)
        ncols = min(3, len(names))
        nrows = math.ceil(len(names) / ncols)
        shown = min(top, len(self.parameters))
        height = 3.8 if self.method == "morris" else 0.32 * shown + 1.4
        fig = plt.figure(figsize=(4.8 * ncols, height * nrows))
        for k, name in enumerate(names):
            ax = fig.add_subplot(nrows, ncols, k + 1)
            rows = wide[wide["endpoint"] == name].head(shown)
            unit = self.endpoint_units[self.endpoints.index(name)]
            if self.method == "morris":
                _morris_panel(ax, wide[wide["endpoint"] == name], rows, axis_label(name, unit))
            else:
                _sobol_panel(ax, rows, name, legend=k == 0)
        if self.method == "morris":
            what = (f"Morris screening ({self.settings['trajectories']} trajectories, {self.settings['levels']} "
                    f"levels, {self.n_evaluations} simulations). Dashed: $\\sigma = \\mu^*$; above it, nonlinear or "
                    f"interacting effects")
        else:
            what = (f"Sobol' indices (N = {self.settings['n_base']}, {self.n_evaluations} simulations), "
                    f"{int(self.settings['level'] * 100)}% bootstrap intervals")
        text = f"{what}. Parameters uniform over their bounds (log-uniform on log scale). {self.note}".strip()
        fig.suptitle("\n".join(textwrap.wrap(text, int(fig.get_figwidth() * 12))), fontsize=9)
        fig.tight_layout()
        return fig


def _morris_panel(ax, everything, labelled, label: str) -> None:
    ax.errorbar(everything["mu_star"], everything["sigma"], xerr=everything["mu_star_conf"], fmt="o", ms=4,
                color="C0", ecolor="0.6", elinewidth=0.8, capsize=2)
    top = float(np.nanmax(np.r_[everything["mu_star"] + everything["mu_star_conf"], everything["sigma"], 0.0]))
    top = top * 1.08 or 1.0
    ax.plot([0, top], [0, top], ls="--", lw=0.8, color="0.4")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel(rf"$\mu^*$ of {label}")
    ax.set_ylabel(r"$\sigma$")
    ax.grid(alpha=0.3)
    shown = labelled[labelled["mu_star"] > 1e-6 * everything["mu_star"].max()]  # not solver noise
    _place_labels(ax, shown["mu_star"], shown["sigma"], shown["parameter"])


def _place_labels(ax, xs, ys, names, height: float = 0.045) -> None:
    """Annotate points in order, moving a label up or down (axes fractions) until it clears those
    placed; a label without room inside the axes is left out."""
    to_axes = ax.transData + ax.transAxes.inverted()
    placed: list[tuple[float, float, float]] = []
    for x, y, name in zip(xs, ys, names):
        fx, fy = to_axes.transform((x, y)) + 0.012
        width = 0.016 * len(name)
        for dy in (0.0, *(sign * k * height for k in range(1, 8) for sign in (1, -1))):
            clear = all(abs(fy + dy - py) >= height or fx + width <= px or px + pw <= fx for px, py, pw in placed)
            if clear and 0.01 <= fy + dy <= 0.95 and fx + width <= 1.0:
                break
        else:
            continue  # no room: left unlabelled rather than overlapping
        placed.append((fx, fy + dy, width))
        ax.annotate(name, (x, y), xytext=(fx, fy + dy), textcoords="axes fraction", fontsize=7,
                    arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.5"} if dy else None)


def _sobol_panel(ax, rows, name: str, legend: bool) -> None:
    y = np.arange(len(rows))[::-1]
    for shift, key, color in ((0.2, "S1", "C0"), (-0.2, "ST", "C1")):
        ax.barh(y + shift, rows[key], height=0.38, color=color, alpha=0.8, label=key)
        ax.errorbar(rows[key], y + shift, xerr=rows[f"{key}_conf"], fmt="none", ecolor="k", elinewidth=0.8, capsize=2)
    ax.set_yticks(y, rows["parameter"], fontsize=8)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel("fraction of variance")
    ax.set_title(name, fontsize=9)
    ax.grid(alpha=0.3, axis="x")
    if legend:
        ax.legend(fontsize=8, frameon=False, loc="lower right")


# ----------------------------------------------------------------------------- analyses
def _count(value, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{what} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _analyse(method: str, source, endpoints, parameters, settings: dict, *, agent, dose, route, unit, schedule,
             regimen, background, bounds, params, initial, age, level, seed, executor, chunk_size, on_failure,
             progress, model) -> GlobalSensitivity:
    import pandas as pd

    start = time.perf_counter()
    if on_failure not in ("raise", "impute"):
        raise ParameterError(f"on_failure must be 'raise' or 'impute', not {on_failure!r}")
    if not 0 < level < 1:
        raise ParameterError(f"level must be between 0 and 1, got {level!r}")
    seed = _count(seed, "seed", 0)
    if chunk_size is not None:
        chunk_size = _count(chunk_size, "chunk_size")
    m, base, _, eps, units, times, _ = setup_prediction(source, model, endpoints, 0, None)
    if params:
        base = base.with_values(params)
    names, pset, problem = _space(m, base, parameters, bounds)
    reg = _regimen(m, pset, float(times[-1]), agent, dose, route, unit, schedule, regimen, background)
    sampler = _salib(f"sample.{method}")
    with _seeded(seed):
        if method == "morris":
            x = sampler.sample(dict(problem), settings["trajectories"], num_levels=settings["levels"], seed=seed)
        else:
            x = sampler.sample(dict(problem), settings["n_base"], calc_second_order=settings["second_order"], seed=seed)
    values = _values(x, names, pset)
    y = _evaluate(m, pset, reg, eps, times, initial, age, names, values, executor, chunk_size, progress)

    enames = [e.name for e in eps]
    ok = np.isfinite(y)
    rows = np.flatnonzero(~ok.all(axis=1))
    failures = pd.DataFrame(values[rows], columns=names)
    failures.insert(0, "row", rows)
    failures["failed_endpoints"] = [", ".join(e for e, good in zip(enames, ok[i]) if not good) for i in rows]
    filled = y.copy()
    if rows.size:
        shown = "; ".join(f"row {i} (" + ", ".join(f"{n}={v:.4g}" for n, v in zip(names, values[i])) + ")"
                          for i in rows[:3])
        if on_failure == "raise" or not ok.any(axis=0).all():
            exc = SimulationError(
                f"{rows.size} of {len(y)} {method} evaluations failed (solver error or non-finite endpoint) and the "
                f"indices need every output: {shown}{' ...' if rows.size > 3 else ''}; narrow the bounds of the "
                "parameters involved, or pass on_failure='impute'"
                + ("" if ok.any(axis=0).all() else " (some endpoint failed in every row, nothing to impute)"))
            exc.failures = failures
            raise exc
        for j in range(y.shape[1]):
            filled[~ok[:, j], j] = np.median(y[ok[:, j], j])

    analyser = _salib(f"analyze.{method}")
    records = []
    for j, name in enumerate(enames):
        with _seeded(seed):
            if method == "morris":
                si = analyser.analyze(dict(problem), x, filled[:, j], num_resamples=RESAMPLES, conf_level=level,
                                      num_levels=settings["levels"], seed=seed)
            else:
                si = analyser.analyze(dict(problem), filled[:, j], calc_second_order=settings["second_order"],
                                      num_resamples=RESAMPLES, conf_level=level, seed=seed)
        keys = ("mu", "mu_star", "sigma", "mu_star_conf") if method == "morris" else ("S1", "S1_conf", "ST", "ST_conf")
        for key in keys:
            index_unit = units[j] if method == "morris" else "1"
            records += [{"endpoint": name, "parameter": p, "index": key, "value": float(v), "unit": index_unit}
                        for p, v in zip(names, np.asarray(si[key], float))]
        if method == "sobol" and settings["second_order"]:
            for key in ("S2", "S2_conf"):
                s2 = np.asarray(si[key], float)
                records += [{"endpoint": name, "parameter": names[a], "index": key, "value": float(s2[a, b]),
                             "unit": "1", "partner": names[b]}
                            for a in range(len(names)) for b in range(a + 1, len(names))]
    return GlobalSensitivity(
        method=method, endpoints=enames, endpoint_units=units, parameters=names,
        parameter_units=[pset[n].unit for n in names], scales=[pset[n].scale for n in names],
        bounds=np.array([[pset[n].lower, pset[n].upper] for n in names]), table=pd.DataFrame(records),
        sample=values, outputs=y, failures=failures, regimen=reg, seed=seed, settings={**settings, "level": level},
        imputed=bool(rows.size), elapsed=time.perf_counter() - start,
    )


def morris(
    source: Model | FitResult,
    endpoints: Sequence[Any] = ("AMH@90", "FSH@90"),
    parameters: Sequence[str] | None = None,
    *,
    agent: str | None = None,
    dose: float | None = None,
    route: str | None = None,
    unit: str | None = None,
    schedule: Sequence[float] = (0.0,),
    regimen: Regimen | Sequence[Dose] | Dose | None = None,
    background: Regimen | Sequence[Dose] | Dose | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    params: Mapping[str, Any] | None = None,
    initial: Any = "healthy",
    age: float | None = None,
    trajectories: int = 10,
    levels: int = 4,
    level: float = 0.95,
    seed: int = 0,
    executor: Executor | str | None = None,
    chunk_size: int | None = None,
    on_failure: str = "raise",
    progress: bool = False,
    model: Model | None = None,
) -> GlobalSensitivity:
    """Morris elementary-effects screening of endpoints over the parameter bounds.

    Parameters
    ----------
    source : Model or FitResult
        A FitResult supplies its fitted values for the parameters that are not varied.
    endpoints : sequence of str or endpoint objects
        See :mod:`poi_ode.predict.endpoints` (``"AMH@90"``, ``"AUC:AMH@0-180"``, ``"FSH<25@0-365"``).
    parameters : sequence of str, optional
        Parameters to vary. Default: :func:`default_parameters` (every model parameter not of
        kind ``"definition"`` whose bounds are finite and differ), plus any named in ``bounds``.
    agent, dose, route, unit, schedule
        Treatment: ``dose`` of ``agent`` (per administration, in ``unit``, default the agent's
        unit: cells, ug...) by ``route`` on each ``schedule`` day (days). Optional.
    regimen, background : Regimen or list of Dose, optional
        Further doses (an insult, a complete regimen); all are given in every evaluation.
    bounds : mapping of str to (float, float), optional
        Bounds replacing the set's (in the set's unit of the parameter); log-scale parameters
        need a positive lower bound.
    params : mapping, optional
        Values of parameters that are not varied (the set's units).
    initial, age
        As in :func:`poi_ode.simulate` (age in years).
    trajectories : int
        Morris trajectories r (>= 2); the model runs r (k + 1) times for k parameters.
    levels : int
        Grid levels p (even, >= 2); steps are p / (2 (p - 1)) of each range.
    level : float
        Confidence level of the bootstrap intervals (``mu_star_conf``).
    seed : int
        Fixes the sample and the bootstrap.
    executor : concurrent.futures.Executor, "serial", "processes" or None
        As in :func:`poi_ode.predict.dose_response` (None: serial below 400 simulations, else a
        local process pool; a dask ``Client.get_executor()`` works). Models with custom modules
        run serially.
    chunk_size : int, optional
        Sample rows per task (default: about four tasks per worker).
    on_failure : {"raise", "impute"}
        What to do when rows fail (see the module docstring).
    progress : bool
        Show a progress bar over the chunks.
    model : Model, optional
        The model to run a FitResult on (default: its species' model).

    Returns
    -------
    GlobalSensitivity

    Raises
    ------
    ParameterError
        Unknown parameter or endpoint, bad bounds or sample sizes (naming the item).
    SimulationError
        Rows failed and ``on_failure="raise"`` (naming them).
    """
    _count(trajectories, "trajectories", 2)
    if _count(levels, "levels", 2) % 2:
        raise ParameterError(f"levels must be even, got {levels}")
    return _analyse("morris", source, endpoints, parameters, {"trajectories": int(trajectories), "levels": int(levels)},
                    agent=agent, dose=dose, route=route, unit=unit, schedule=schedule, regimen=regimen,
                    background=background, bounds=bounds, params=params, initial=initial, age=age, level=level,
                    seed=seed, executor=executor, chunk_size=chunk_size, on_failure=on_failure, progress=progress,
                    model=model)


def sobol(
    source: Model | FitResult,
    endpoints: Sequence[Any] = ("AMH@90", "FSH@90"),
    parameters: Sequence[str] | None = None,
    *,
    agent: str | None = None,
    dose: float | None = None,
    route: str | None = None,
    unit: str | None = None,
    schedule: Sequence[float] = (0.0,),
    regimen: Regimen | Sequence[Dose] | Dose | None = None,
    background: Regimen | Sequence[Dose] | Dose | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    params: Mapping[str, Any] | None = None,
    initial: Any = "healthy",
    age: float | None = None,
    n_base: int = 512,
    second_order: bool = False,
    level: float = 0.95,
    seed: int = 0,
    executor: Executor | str | None = None,
    chunk_size: int | None = None,
    on_failure: str = "raise",
    progress: bool = False,
    model: Model | None = None,
) -> GlobalSensitivity:
    """Sobol' first-order (S1) and total (ST) indices of endpoints over the parameter bounds.

    Saltelli's scheme on a scrambled Sobol' sequence: the model runs N (k + 2) times for k
    parameters, N (2k + 2) with ``second_order`` (which adds ``S2`` rows).

    Parameters
    ----------
    n_base : int
        Base sample size N, a power of 2.
    second_order : bool
        Also estimate the pairwise indices S2.
    level : float
        Confidence level of the bootstrap intervals (``S1_conf``, ``ST_conf``).

    The other parameters, the result and the errors are as in :func:`morris`.
    """
    n = _count(n_base, "n_base")
    if n & (n - 1):
        raise ParameterError(f"n_base must be a power of 2 (balance of the Sobol' sequence), got {n}")
    return _analyse("sobol", source, endpoints, parameters, {"n_base": n, "second_order": bool(second_order)},
                    agent=agent, dose=dose, route=route, unit=unit, schedule=schedule, regimen=regimen,
                    background=background, bounds=bounds, params=params, initial=initial, age=age, level=level,
                    seed=seed, executor=executor, chunk_size=chunk_size, on_failure=on_failure, progress=progress,
                    model=model)
