"""Running simulation tasks serially, in processes or on a Dask cluster, with a progress bar."""
from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError, PoiOdeError
from .endpoints import BATCHED, parse_endpoint

if TYPE_CHECKING:  # pragma: no cover
    from ..model.core import Model


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
    base = base if base is not None else model.require_parameter_set().with_values(task["base_values"])
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


def execute_tasks(tasks: list[dict], executor: "Executor | str | None", n_sims: int,
                  progress: bool) -> list[np.ndarray]:
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
    if isinstance(executor, str) or (not isinstance(executor, Executor) and not hasattr(executor, "submit")):
        raise ParameterError(f"executor must be a concurrent.futures.Executor, 'serial' or 'processes', not "
                             f"{executor!r}")
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
