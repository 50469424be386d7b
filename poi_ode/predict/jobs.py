"""What a prediction simulates: the model and parameter set of a Model or FitResult(s), the parsed endpoints,
the output days; a job run nominally and over parameter draws, and the summary of the draws.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..dosing import Regimen
from ..errors import ParameterError
from .endpoints import parse_endpoint
from .executors import _run_chunk, execute_tasks

if TYPE_CHECKING:  # pragma: no cover
    from ..model.core import Model
    from ..parameters import ParameterSet


# ----------------------------------------------------------------------------- sources
def resolve_source(source, model: "Model | None"):
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
        base = m.require_parameter_set()
        if len(source) == 1:
            base = base.with_values({k: v for k, v in source[0].config.get("fixed_parameters", {}).items()
                                     if k in base})
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


def setup_prediction(source, model, endpoints, draws, uncertainty):
    """Model, parameter set, fit(s), parsed endpoints with units and output days, band kind."""
    m, base, fit_result = resolve_source(source, model)
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
    spec = (job.model.require_parameter_set().species, tuple(m.name for m in job.model.modules))
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
    parts = execute_tasks(tasks, executor, n_sims, progress)
    return nominal, np.concatenate(parts, axis=0)


def _summary(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tail = (1 - level) / 2 * 100
    with np.errstate(all="ignore"):
        return (np.nanmedian(values, axis=0), np.nanpercentile(values, tail, axis=0),
                np.nanpercentile(values, 100 - tail, axis=0))
