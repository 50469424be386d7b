"""Predictions: dose-response with labelled uncertainty, Emax summaries, regimen comparison.

``dose_response(source, agent=..., doses=..., route=..., endpoints=[...], draws=...)`` runs
the model (a :class:`~poi_ode.model.core.Model`, or a :class:`~poi_ode.fitting.FitResult`
whose fitted values it uses) over a dose grid, optionally for many parameter draws, on a
``concurrent.futures`` executor (default: a local process pool for large jobs).
"""
from __future__ import annotations

import math
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..dosing import Dose, Regimen, as_regimen
from ..errors import DosingError, ParameterError, PoiOdeError
from .endpoints import AUC, BATCHED, At, Resumed, TimeBeyond, parse_endpoint
from .uncertainty import LABELS, describe, draw_parameters

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..fitting.result import FitResult
    from ..model.core import Model
    from ..parameters import ParameterSet

__all__ = [
    "dose_response", "compare_regimens", "DoseResponse", "RegimenComparison", "hill", "fit_hill",
    "At", "AUC", "TimeBeyond", "Resumed", "parse_endpoint",
]


# ----------------------------------------------------------------------------- workers
_MODELS: dict[tuple, "Model"] = {}


def _worker_model(spec: tuple) -> "Model":
    """The model of a spec (species, modules), built once per process."""
    if spec not in _MODELS:
        from ..model import load_model

        species, modules = spec
        _MODELS[spec] = load_model(species, modules=list(modules) if modules else None)
    return _MODELS[spec]


def _run_chunk(task: dict) -> np.ndarray:
    """Endpoints [draw, regimen, endpoint] for one chunk of parameter draws (runs in a worker).

    The draws x regimens of a chunk run as one batch of the compiled engine where it builds
    (on ``task["threads"]`` threads), else one :func:`~poi_ode.simulate.simulate` at a time;
    the built-in endpoints evaluate the whole batch at once. A failed simulation leaves NaN
    (the caller counts them).
    """
    from ..simulate import simulate_batch

    model = task["model"] if task.get("model") is not None else _worker_model(task["spec"])
    base = task.get("parameter_set")  # a full set (its own bounds), else values on the model's set
    base = base if base is not None else model.parameter_set.with_values(task["base_values"])
    endpoints = [parse_endpoint(e) for e in task["endpoints"]]
    n_reg = len(task["regimens"])
    out = np.full((len(task["draws"]), n_reg, len(endpoints)), np.nan)
    sets, index = [], []
    for i, values in enumerate(task["draws"]):
        try:
            sets.append(base.with_values(values) if values else base)
            index.append(i)
        except PoiOdeError:
            continue  # a draw outside the bounds: NaN, counted by the caller
    batch = simulate_batch(model, list(task["regimens"]) * len(sets), task["times"],
                           [s for s in sets for _ in range(n_reg)], initial=task["initial"], age=task["age"],
                           threads=task.get("threads", 1))
    ok = batch.ok
    values = np.full((len(batch), len(endpoints)), np.nan)
    for j, e in enumerate(endpoints):
        if isinstance(e, BATCHED):  # the whole batch at once
            values[:, j] = e(batch)
        else:  # a user's endpoint: one trajectory at a time
            values[ok, j] = [e(batch.trajectory(b)) for b in np.flatnonzero(ok)]
    values[~ok] = np.nan
    out[np.repeat(index, n_reg), np.tile(np.arange(n_reg), len(sets))] = values
    return out


def _execute(tasks: list[dict], executor: "Executor | str | None", n_sims: int, progress: bool) -> list[np.ndarray]:
    """Run the tasks serially, on the given executor, or on a local process pool."""
    own = None
    if executor is None:  # a process pool for large jobs (Python's share runs in parallel too)
        native = tasks and tasks[0].get("model") is not None and _native_available(tasks[0]["model"])
        large = n_sims >= (4000 if native else 400) and (os.cpu_count() or 1) > 1
        executor = "processes" if large else "serial"  # serial: the compiled engine's threads
    if executor == "serial":
        for t in tasks:
            t["threads"] = os.cpu_count() or 1  # the compiled engine's threads
        iterator = tasks
        if progress:
            iterator = _progress(tasks, len(tasks))
        return [_run_chunk(t) for t in iterator]
    if executor == "processes":
        own = executor = ProcessPoolExecutor(max_workers=os.cpu_count() or 1)
    if not isinstance(executor, Executor) and not hasattr(executor, "submit"):
        raise ParameterError(f"executor must be a concurrent.futures.Executor, 'serial' or 'processes', not {executor!r}")
    try:
        for t in tasks:
            if t.get("model") is not None:  # forked workers inherit it; spawned ones rebuild it from its spec
                _MODELS.setdefault(t["spec"], t["model"])
            t["model"] = None
        futures = [executor.submit(_run_chunk, t) for t in tasks]
        if progress:
            _progress_futures(futures)
        return [f.result() for f in futures]
    finally:
        if own is not None:
            own.shutdown()


def _native_available(model: "Model") -> bool:
    from ..native import available

    return available(model) is None


def _progress(items, total):
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return items
    return tqdm(items, total=total, desc="simulating", unit="chunk")


def _progress_futures(futures) -> None:
    from concurrent.futures import as_completed

    for _ in _progress(as_completed(futures), len(futures)):
        pass


# ----------------------------------------------------------------------------- Hill / Emax
def hill(dose: np.ndarray, e0: float, emax: float, ed50: float, n: float) -> np.ndarray:
    """E0 + Emax d^n / (ED50^n + d^n)."""
    d = np.asarray(dose, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        frac = np.where(d > 0, 1.0 / (1.0 + (ed50 / np.maximum(d, 1e-300)) ** n), 0.0)
    return e0 + emax * frac


def fit_hill(doses: np.ndarray, values: np.ndarray, control: float | None = None) -> dict[str, float]:
    """Least-squares Hill fit (log10 ED50, Hill 0.2-10); NaN entries on failure."""
    from scipy.optimize import least_squares

    d = np.asarray(doses, float)
    y = np.asarray(values, float)
    if control is not None and math.isfinite(control):
        d, y = np.r_[0.0, d], np.r_[control, y]
    ok = np.isfinite(y)
    d, y = d[ok], y[ok]
    positive = d[d > 0]
    if positive.size < 3:
        return dict(E0=math.nan, Emax=math.nan, ED50=math.nan, hill=math.nan, rmse=math.nan)
    lo, hi = math.log10(positive.min()) - 2, math.log10(positive.max()) + 2
    e0 = y[np.argmin(d)]
    span = y[np.argmax(d)] - e0
    scale = max(np.ptp(y), 1e-12)

    def resid(x):
        return (hill(d, x[0], x[1], 10 ** x[2], x[3]) - y) / scale

    start = [e0, span if span != 0 else scale, math.log10(np.sqrt(positive.min() * positive.max())), 1.0]
    sol = least_squares(resid, start, bounds=([-np.inf, -np.inf, lo, 0.2], [np.inf, np.inf, hi, 10.0]))
    return dict(E0=float(sol.x[0]), Emax=float(sol.x[1]), ED50=float(10 ** sol.x[2]), hill=float(sol.x[3]),
                rmse=float(np.sqrt(np.mean(sol.fun**2)) * scale))


# ----------------------------------------------------------------------------- sources
def _source(source, model: "Model | None"):
    """(model, parameter set, fit results) of a Model, a FitResult or a list of FitResults.

    Several FitResults (independent calibrations of one species) are applied in turn on the
    full model of ``model`` (default: the species' full model), each keeping its fitted values.
    """
    from ..fitting.result import FitResult

    if isinstance(source, FitResult):
        source = [source]
    if isinstance(source, (list, tuple)) and source and all(isinstance(r, FitResult) for r in source):
        from ..model import load_model

        species = {r.species for r in source}
        if len(species) > 1:
            raise ParameterError(f"fit results of different species {sorted(species)} cannot be combined")
        m = model or load_model(source[0].species, modules=source[0].modules if len(source) == 1 else None)
        base = m.parameter_set
        if len(source) == 1:
            base = base.with_values({k: v for k, v in source[0].config.get("fixed_parameters", {}).items() if k in base})
        for r in source:
            base = r.parameter_set(base)
        return m, base, source[0] if len(source) == 1 else list(source)
    if getattr(source, "parameter_set", None) is None:
        raise ParameterError("dose_response needs a Model with a parameter set, or a FitResult")
    return source, source.parameter_set, None


@dataclass
class _Job:
    model: "Model"
    base: "ParameterSet"
    regimens: list[Regimen]
    endpoints: list
    times: np.ndarray
    initial: Any
    age: float | None


def _setup(source, model, endpoints, draws, uncertainty):
    """Model, parameter set, fit(s), parsed endpoints with units and output days, band kind."""
    m, base, fit_result = _source(source, model)
    if draws < 0 or int(draws) != draws:
        raise ParameterError(f"draws must be a whole number >= 0, got {draws!r}")
    eps = [parse_endpoint(e) for e in endpoints]
    units = [e.unit(m) for e in eps]
    kind = uncertainty or ("none" if not draws else ("fit" if fit_result is not None else "assumptions"))
    return m, base, fit_result, eps, units, _times_for(m, eps), kind


def _times_for(model: "Model", endpoints: list) -> np.ndarray:
    days = sorted({float(t) for e in endpoints for t in e.times(model)} | {0.0})
    return np.array(days)


def _run(job: _Job, draws: list[dict], executor, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """Nominal [regimen, endpoint] and per-draw [draw, regimen, endpoint] endpoint values."""
    spec = (job.model.parameter_set.species, tuple(m.name for m in job.model.modules))
    base_values = {n: p.value for n, p in job.base.parameters.items()}
    common = dict(spec=spec, model=job.model, base_values=base_values, regimens=job.regimens,
                  endpoints=job.endpoints, times=job.times, initial=job.initial, age=job.age)
    nominal = _run_chunk({**common, "draws": [{}]})[0]
    if not draws:
        return nominal, np.empty((0, *nominal.shape))
    n_sims = len(draws) * len(job.regimens)
    from ..model import MODULE_BUILDERS

    if executor != "serial" and any(mod.name not in MODULE_BUILDERS for mod in job.model.modules):
        executor = "serial"  # a custom module cannot be rebuilt by name in another process
    workers = 1 if executor == "serial" else max(1, os.cpu_count() or 1)
    size = max(1, math.ceil(len(draws) / (4 * workers)))
    tasks = [{**common, "draws": draws[k:k + size]} for k in range(0, len(draws), size)]
    parts = _execute(tasks, executor, n_sims, progress)
    return nominal, np.concatenate(parts, axis=0)


def _summary(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tail = (1 - level) / 2 * 100
    with np.errstate(all="ignore"):
        return (np.nanmedian(values, axis=0), np.nanpercentile(values, tail, axis=0),
                np.nanpercentile(values, 100 - tail, axis=0))


# ----------------------------------------------------------------------------- dose-response
@dataclass
class DoseResponse:
    """Endpoints over a dose grid, with a labelled band.

    Attributes
    ----------
    nominal : ndarray [dose, endpoint]
        With the source's values (fitted or default).
    draws : ndarray [draw, dose, endpoint]
        Per parameter draw (empty without uncertainty).
    control : ndarray [endpoint]
        Without the agent (background regimen only).
    """

    agent: str
    route: str | None
    unit: str
    doses: np.ndarray
    endpoints: list[str]
    endpoint_units: list[str]
    nominal: np.ndarray
    draws: np.ndarray
    control: np.ndarray
    control_draws: np.ndarray
    uncertainty: str
    uncertainty_note: str
    level: float = 0.95
    schedule: list[float] = field(default_factory=list)
    failed: int = 0

    @property
    def table(self) -> "pd.DataFrame":
        """Tidy: agent, route, dose, dose_unit, endpoint, unit, nominal, median, lower, upper, uncertainty."""
        import pandas as pd

        med, lo, hi = _summary(self.draws, self.level) if len(self.draws) else (self.nominal,) * 3
        effect = self.draws - self.control_draws[:, None, :] if len(self.draws) else None
        e_med, e_lo, e_hi = _summary(effect, self.level) if effect is not None else ((self.nominal - self.control),) * 3
        rows = []
        for i, dose in enumerate(self.doses):
            for j, name in enumerate(self.endpoints):
                rows.append(dict(
                    agent=self.agent, route=self.route, dose=float(dose), dose_unit=self.unit, endpoint=name,
                    unit=self.endpoint_units[j], nominal=float(self.nominal[i, j]), median=float(med[i, j]),
                    lower=float(lo[i, j]), upper=float(hi[i, j]), control=float(self.control[j]),
                    effect=float(self.nominal[i, j] - self.control[j]), effect_median=float(e_med[i, j]),
                    effect_lower=float(e_lo[i, j]), effect_upper=float(e_hi[i, j]),
                    uncertainty=LABELS.get(self.uncertainty, self.uncertainty), n_draws=len(self.draws),
                ))
        return pd.DataFrame(rows)

    def emax(self) -> "pd.DataFrame":
        """Emax, ED50 and Hill per endpoint (nominal), with intervals from the draws."""
        import pandas as pd

        rows = []
        tail = (1 - self.level) / 2 * 100
        for j, name in enumerate(self.endpoints):
            point = fit_hill(self.doses, self.nominal[:, j], self.control[j])
            per_draw = [fit_hill(self.doses, self.draws[k, :, j], self.control_draws[k, j]) for k in range(len(self.draws))]
            row = dict(endpoint=name, unit=self.endpoint_units[j], dose_unit=self.unit, **point)
            for key in ("Emax", "ED50", "hill"):
                vals = np.array([p[key] for p in per_draw], float)
                vals = vals[np.isfinite(vals)]
                row[f"{key}_lower"] = float(np.percentile(vals, tail)) if vals.size else math.nan
                row[f"{key}_upper"] = float(np.percentile(vals, 100 - tail)) if vals.size else math.nan
            row["uncertainty"] = LABELS.get(self.uncertainty, self.uncertainty)
            rows.append(row)
        return pd.DataFrame(rows)

    def minimum_dose(self, endpoint: str, target: float, direction: str = "above") -> dict[str, float]:
        """Smallest dose whose endpoint reaches ``target`` (log-dose interpolation).

        Returns the nominal dose, the median and interval over draws, and the share of draws
        that reach the target within the grid (NaN dose where it is not reached).
        """
        if direction not in ("above", "below"):
            raise ParameterError("direction must be 'above' or 'below'")
        j = self.endpoints.index(endpoint)

        def crossing(values):
            ok = values >= target if direction == "above" else values <= target
            if not ok.any():
                return math.nan
            k = int(np.argmax(ok))
            if k == 0:
                return float(self.doses[0])
            x0, x1 = np.log10(self.doses[k - 1]), np.log10(self.doses[k])
            y0, y1 = values[k - 1], values[k]
            w = 0.0 if y1 == y0 else (target - y0) / (y1 - y0)
            return float(10 ** (x0 + w * (x1 - x0)))

        nominal = crossing(self.nominal[:, j])
        per_draw = np.array([crossing(self.draws[k, :, j]) for k in range(len(self.draws))])
        reached = per_draw[np.isfinite(per_draw)]
        tail = (1 - self.level) / 2 * 100
        return dict(endpoint=endpoint, target=target, direction=direction, nominal=nominal,
                    median=float(np.median(reached)) if reached.size else math.nan,
                    lower=float(np.percentile(reached, tail)) if reached.size else math.nan,
                    upper=float(np.percentile(reached, 100 - tail)) if reached.size else math.nan,
                    share_reaching=float(reached.size / len(per_draw)) if len(per_draw) else math.nan)

    def plot(self, endpoints: Sequence[str] | None = None, effect: bool = False):
        """One panel per endpoint: nominal curve, band of the draws, control level (or the
        effect against the control, paired within draws, with ``effect=True``)."""
        from .plots import plot_dose_response

        return plot_dose_response([self], endpoints, effect=effect)


def dose_response(
    source: "Model | FitResult",
    agent: str = "msc",
    doses: Sequence[float] = (1e5, 1e6, 1e7),
    route: str | None = None,
    endpoints: Sequence[Any] = ("AMH@90", "FSH@90"),
    *,
    unit: str | None = None,
    schedule: Sequence[float] = (0.0,),
    background: "Regimen | Sequence[Dose] | None" = None,
    initial: Any = "healthy",
    age: float | None = None,
    draws: int = 0,
    uncertainty: str | None = None,
    population: Mapping[str, float] | None = None,
    cov_scale: float = 1.0,
    level: float = 0.95,
    seed: int = 0,
    executor: "Executor | str | None" = None,
    progress: bool = False,
    model: "Model | None" = None,
) -> DoseResponse:
    """Endpoints over a dose grid, with uncertainty from parameter draws.

    Parameters
    ----------
    source : Model or FitResult
        A FitResult predicts with its fitted values (its species' model is loaded unless given).
    agent, doses, route, unit : str, sequence, str, str
        Agent (``"msc"``, ``"exosome"``...), amounts per administration, route (default: the
        agent's), dose unit (default: cells for MSC, ug for exosomes, mg/kg otherwise).
    endpoints : sequence of str or endpoint objects
        See :mod:`poi_ode.predict.endpoints` (``"AMH@90"``, ``"FSH<25@0-365"``...).
    schedule : sequence of float
        Days of administration (each gets the full dose).
    background : Regimen, optional
        Insult or other doses common to all arms (for example a chemotherapy course).
    initial, age
        Initial state and age, as in :func:`poi_ode.simulate`.
    draws, uncertainty
        Number and kind of parameter draws: ``"fit"`` (needs a FitResult; default then),
        ``"population"``, ``"assumptions"`` (default for a Model) or ``"none"``.
    cov_scale : float
        Multiplies the fit covariance (sensitivity of the bands to it).
    executor : concurrent.futures.Executor, "serial", "processes" or None
        None: serial for small jobs (the compiled engine uses every core's thread), a local
        process pool from 4,000 simulations (400 without the compiled engine). A dask
        ``Client.get_executor()`` works the same way; the tables do not depend on the choice.
    """
    doses = np.asarray(doses, float)
    if doses.ndim != 1 or doses.size == 0 or not np.all(np.isfinite(doses)) or np.any(doses <= 0):
        raise DosingError("doses must be a non-empty list of positive finite amounts")
    if np.any(np.diff(doses) <= 0):
        raise DosingError("doses must be strictly increasing")
    m, base, fit_result, eps, units, times, kind = _setup(source, model, endpoints, draws, uncertainty)
    target = m.dose_target(agent, route)
    unit = unit or target.unit
    bg = as_regimen(background)
    for day in schedule:
        if not (math.isfinite(day) and day >= 0):
            raise DosingError(f"schedule day {day!r} must be a finite number >= 0")
        if day > times[-1]:
            raise DosingError(f"schedule day {day:g} is after the last endpoint day {times[-1]:g}")
    regimens = [bg] + [bg + Regimen([Dose(day, agent, float(d), unit, route) for day in schedule]) for d in doses]
    for r in regimens[1:2]:
        r.resolve(m, base.vector(m))  # unit and route errors now, not inside a worker
    job = _Job(m, base, regimens, eps, times, initial, age)
    parameter_draws = draw_parameters(base, kind, int(draws), seed, fit_result, population, cov_scale)
    nominal, per_draw = _run(job, parameter_draws, executor, progress)
    failed = int(np.isnan(per_draw).any(axis=2).sum()) if per_draw.size else 0
    return DoseResponse(
        agent=agent, route=target.route, unit=unit, doses=doses, endpoints=[e.name for e in eps], endpoint_units=units,
        nominal=nominal[1:], draws=per_draw[:, 1:] if per_draw.size else np.empty((0, len(doses), len(eps))),
        control=nominal[0], control_draws=per_draw[:, 0] if per_draw.size else np.empty((0, len(eps))),
        uncertainty=kind, uncertainty_note=describe(kind, population), level=level, schedule=list(schedule),
        failed=failed,
    )


# ----------------------------------------------------------------------------- regimens
@dataclass
class RegimenComparison:
    """Endpoints per named regimen, with a labelled band."""

    names: list[str]
    endpoints: list[str]
    endpoint_units: list[str]
    nominal: np.ndarray  # [regimen, endpoint]
    draws: np.ndarray  # [draw, regimen, endpoint]
    uncertainty: str
    uncertainty_note: str
    level: float = 0.95
    reference: str | None = None

    @property
    def table(self) -> "pd.DataFrame":
        """Tidy: regimen, endpoint, value (nominal, median, interval) and, with a reference
        regimen, the effect against it (paired within each draw)."""
        import pandas as pd

        med, lo, hi = _summary(self.draws, self.level) if len(self.draws) else (self.nominal,) * 3
        ref = self.names.index(self.reference) if self.reference is not None else None
        if ref is not None:
            effect_nominal = self.nominal - self.nominal[ref]
            eff = self.draws - self.draws[:, ref : ref + 1, :] if len(self.draws) else None
            e_med, e_lo, e_hi = _summary(eff, self.level) if eff is not None else (effect_nominal,) * 3
        rows = []
        for i, n in enumerate(self.names):
            for j, e in enumerate(self.endpoints):
                row = dict(regimen=n, endpoint=e, unit=self.endpoint_units[j], nominal=float(self.nominal[i, j]),
                           median=float(med[i, j]), lower=float(lo[i, j]), upper=float(hi[i, j]),
                           uncertainty=LABELS.get(self.uncertainty, self.uncertainty), n_draws=len(self.draws))
                if ref is not None:
                    row.update(effect=float(effect_nominal[i, j]), effect_median=float(e_med[i, j]),
                               effect_lower=float(e_lo[i, j]), effect_upper=float(e_hi[i, j]),
                               reference=self.reference)
                rows.append(row)
        return pd.DataFrame(rows)

    def plot(self):
        from .plots import plot_comparison

        return plot_comparison(self)


def compare_regimens(
    source: "Model | FitResult",
    regimens: Mapping[str, "Regimen | Sequence[Dose] | Dose | None"],
    endpoints: Sequence[Any] = ("AMH@90", "FSH@90"),
    *,
    background: "Regimen | Sequence[Dose] | None" = None,
    initial: Any = "healthy",
    age: float | None = None,
    draws: int = 0,
    uncertainty: str | None = None,
    population: Mapping[str, float] | None = None,
    level: float = 0.95,
    seed: int = 0,
    executor: "Executor | str | None" = None,
    progress: bool = False,
    model: "Model | None" = None,
    reference: str | None = None,
) -> RegimenComparison:
    """Endpoints of several treatment regimens (each added to ``background``), same draws for all.

    ``reference`` names the regimen effects are measured against (paired within each draw).
    """
    if not regimens:
        raise ParameterError("give at least one regimen to compare")
    if reference is not None and reference not in regimens:
        raise ParameterError(f"reference {reference!r} is not one of the regimens {list(regimens)}")
    m, base, fit_result, eps, units, times, kind = _setup(source, model, endpoints, draws, uncertainty)
    bg = as_regimen(background)
    regs = []
    for name, r in regimens.items():
        reg = bg + as_regimen(r)
        late = [d for d in reg if d.time > times[-1]]
        if late:
            raise DosingError(f"regimen {name!r}: dose at day {late[0].time:g} is after the last endpoint day {times[-1]:g}")
        reg.resolve(m, base.vector(m))
        regs.append(reg)
    job = _Job(m, base, regs, eps, times, initial, age)
    parameter_draws = draw_parameters(base, kind, int(draws), seed, fit_result, population)
    nominal, per_draw = _run(job, parameter_draws, executor, progress)
    return RegimenComparison(list(regimens), [e.name for e in eps], units, nominal, per_draw, kind,
                             describe(kind, population), level, reference)
