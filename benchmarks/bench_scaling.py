"""Time per 10,000 simulations vs workers (1, 2): serial engine, process pool, dask local cluster.

Workload: a dose-response of 10,000 simulations: a woman with idiopathic POI, intraovarian
MSCs at day 0 (49 doses from 1e5 to 1e8 cells and the untreated control = 50 regimens),
endpoints AMH and FSH at day 90, 199 'population' draws plus the nominal set = 200 parameter
sets; 50 x 200 = 10,000 simulations. The 50 nominal simulations
run in the calling process, the 9,950 of the draws on the executor, in chunks of draws
(tasks; their number is counted by wrapping the executor).

Executors, each kept alive for the whole run and timed side by side (within a repeat every
executor runs the same seed, one after the other):

- serial: the compiled engine in this process, each chunk one batch on os.cpu_count()
  OpenMP threads (dose_response has no knob for the thread count);
- in-process, 1 thread: the same tasks as a pool gets, run inline by a trivial executor in
  this process (one engine thread, no pickling): the compute time of the tasks;
- concurrent.futures.ProcessPoolExecutor(max_workers=1 or 2);
- dask LocalCluster(n_workers=1 or 2, threads_per_worker=1, processes=True) through
  Client.get_executor().

Startup (pool / cluster creation) is timed apart from the runs; the first run on each
executor (seed S) includes the workers' first imports and model build and is reported
separately ("first run"). Each timed repeat k uses seed S + k for every executor, so no
process has the draws' steady states cached (this process's steady-state and dose-factor
caches are cleared before each run; forked workers inherit them empty): every row is a cold
job, as a new prediction would be. Every table (draws and control draws) is compared with
the serial one of the same seed.

Overhead per task, three ways: (1) round trip of a no-op task (abs) submitted and awaited one
at a time, and (2) submitted all at once (wall / count); (3) a tiny real job (1 dose, AMH at
day 1, one draw per task) minus the same job inline, divided by its number of tasks (with one
worker only: with two the tasks overlap). The main table also gives an effective overhead per
task of the 10,000-simulation job, (workers x wall - in-process wall) / tasks, which includes
load imbalance and the processes sharing the cores.

The engine alone: simulate_batch on one batch of the same 10,000 simulations with threads=1
and 2 (alternating, steady states cached, so the engine plus batch preparation).

    python benchmarks/bench_scaling.py [--repeats 5] [--quick] [--json /tmp/bench_scaling.json]
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import multiprocessing
import os
import platform
import statistics
import time
import warnings
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np
import scipy

import poi_ode as po

PER = 10_000  # simulations the times are scaled to


class InlineExecutor:
    """Runs each submitted task at once in this process (the tasks' compute time, no IPC)."""

    def submit(self, fn, *args, **kwargs):
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True) -> None:
        pass


class Counting:
    """Delegates to an executor and counts the tasks submitted."""

    def __init__(self, inner):
        self.inner, self.count = inner, 0

    def submit(self, fn, *args, **kwargs):
        self.count += 1
        return self.inner.submit(fn, *args, **kwargs)


def clear_steady_cache() -> None:
    """Empty this process's caches of per-parameter-set results (private details of poi_ode:
    the steady and healthy states of poi_ode.simulate, the dose factors of poi_ode.dosing)."""
    for module, name in (("poi_ode.simulate", "_STEADY_CACHE"), ("poi_ode.simulate", "_HEALTHY_CACHE"),
                         ("poi_ode.dosing", "_FACTORS")):
        cache = getattr(importlib.import_module(module), name, None)  # not `import poi_ode.simulate`: the
        if cache is not None:  # package's `simulate` function shadows the submodule
            cache.clear()


def versions() -> dict:
    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "poi_ode": getattr(po, "__version__", "?"), "cpus": os.cpu_count(), "machine": platform.machine(),
            "platform": platform.platform(), "start_method": multiprocessing.get_start_method()}


def stats(values: list[float], scale: float = 1.0) -> dict:
    return {"median": scale * statistics.median(values), "min": scale * min(values), "max": scale * max(values),
            "repeats": len(values), "values": [scale * v for v in values]}


def compare(ref, other) -> dict:
    """Equality of two DoseResponse tables (draws and control draws, NaN == NaN)."""
    a = np.concatenate([ref.draws.ravel(), ref.control_draws.ravel()])
    b = np.concatenate([other.draws.ravel(), other.control_draws.ravel()])
    same = a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
    out = {"identical": same}
    if not same and a.shape == b.shape:
        diff = np.abs(a - b)
        out.update(n_different=int(np.sum(~((a == b) | (np.isnan(a) & np.isnan(b))))),
                   max_abs_diff=float(np.nanmax(diff)) if np.any(np.isfinite(diff)) else math.nan,
                   max_rel_diff=float(np.nanmax(diff / np.maximum(np.abs(a), 1e-300))))
    return out


class Config:
    """One executor under test: its creation, runs, overhead probes and shutdown."""

    def __init__(self, name, workers, threads, make=None, remote=True):
        self.name, self.workers, self.threads, self.make, self.remote = name, workers, threads, make, remote
        self.executor, self.closer, self.startup_s, self.shutdown_s = None, None, 0.0, math.nan
        self.first_run_s, self.times, self.tasks, self.checks = math.nan, [], None, []
        self.overhead: dict = {}

    @property
    def label(self) -> str:
        return f"{self.name} x{self.workers}" if self.remote else self.name

    def start(self) -> None:
        t0 = time.perf_counter()
        self.executor, self.closer = self.make() if self.make else ("serial", None)
        self.startup_s = time.perf_counter() - t0

    def run(self, job, seed: int):
        """(seconds, DoseResponse) of the job on this executor; the task count is recorded."""
        clear_steady_cache()  # this process's share: all of an in-process run, the nominal set otherwise
        ex = Counting(self.executor) if self.executor != "serial" else "serial"
        t0 = time.perf_counter()
        dr = job(ex, seed)
        wall = time.perf_counter() - t0
        if ex != "serial":
            self.tasks = ex.count
        return wall, dr

    def stop(self) -> None:
        t0 = time.perf_counter()
        if self.closer:
            self.closer()
        self.shutdown_s = time.perf_counter() - t0


def make_pool(workers):
    def make():
        pool = ProcessPoolExecutor(max_workers=workers)  # the platform's default start method (fork on Linux)
        return pool, pool.shutdown
    return make


def make_dask(workers):
    def make():
        from distributed import Client, LocalCluster

        logging.getLogger("distributed").setLevel(logging.ERROR)  # no INFO lines on closing
        warnings.filterwarnings("ignore", message=".*already in use", category=UserWarning)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)

        def close():
            client.close()
            cluster.close()
        return client.get_executor(), close
    return make


def probe_overhead(cfg: Config, tiny_job, n_noop: int, n_tiny: int, inline_tiny_s: float | None) -> dict:
    """Per-task overhead of a remote executor: no-op round trips and a tiny real job."""
    ex = cfg.executor
    ex.submit(abs, -1).result()  # warm
    lat = []
    for k in range(n_noop):
        t0 = time.perf_counter()
        ex.submit(abs, -k - 2).result()
        lat.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    futures = [ex.submit(abs, -k - 2 - n_noop) for k in range(n_noop)]
    for f in futures:
        f.result()
    burst = (time.perf_counter() - t0) / n_noop
    counting = Counting(ex)
    tiny_job(counting, 0)  # warm
    tiny = []
    for k in range(n_tiny):
        counting.count = 0
        clear_steady_cache()
        t0 = time.perf_counter()
        tiny_job(counting, k + 1)
        tiny.append(time.perf_counter() - t0)
    out = {"noop_roundtrip_ms": stats(lat, 1e3), "noop_burst_ms_per_task": 1e3 * burst,
           "tiny_job_s": stats(tiny), "tiny_job_tasks": counting.count}
    if inline_tiny_s is not None and counting.count and cfg.workers == 1:  # with 2 workers the tasks overlap
        out["tiny_overhead_ms_per_task"] = 1e3 * (statistics.median(tiny) - inline_tiny_s) / counting.count
    return out


def engine_alone(model, doses, draws, seed, repeats) -> dict:
    """simulate_batch on the job's simulations in one batch, threads=1 vs 2 (alternating)."""
    from poi_ode.predict.uncertainty import draw_parameters

    base = model.parameter_set
    sets = [base] + [base.with_values(v) for v in draw_parameters(base, "population", draws, seed)]
    target = model.dose_target("msc", "intraovarian")
    regimens = [po.Regimen()] + [po.Regimen([po.Dose(0.0, "msc", float(d), target.unit, "intraovarian")])
                                 for d in doses]
    all_regimens = regimens * len(sets)
    all_sets = [s for s in sets for _ in regimens]
    times = np.array([0.0, 90.0])

    def once(threads):
        t0 = time.perf_counter()
        runs = po.simulate_batch(model, all_regimens, times, all_sets, initial="poi", threads=threads)
        wall = time.perf_counter() - t0
        return wall, runs.states  # failed simulations hold NaN

    once(1)  # warm-up: fills the steady-state cache of the parameter sets
    times_by = {1: [], 2: []}
    identical = True
    for _ in range(repeats):
        w1, s1 = once(1)
        w2, s2 = once(2)
        times_by[1].append(w1)
        times_by[2].append(w2)
        identical &= bool(np.array_equal(s1, s2, equal_nan=True))
    n = len(all_regimens)
    return {"simulations": n, "threads": {t: stats(v, PER / n) for t, v in times_by.items()},
            "identical_1_vs_2_threads": identical}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per executor after the first run")
    parser.add_argument("--quick", action="store_true", help="1,000 simulations, 2 repeats, fewer probes")
    parser.add_argument("--doses", type=int, default=None, help="doses (default 49; 9 with --quick)")
    parser.add_argument("--draws", type=int, default=None, help="draws (default 199; 99 with --quick)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-dask", action="store_true", help="skip the dask local clusters")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    n_doses = args.doses or (9 if args.quick else 49)
    n_draws = args.draws or (99 if args.quick else 199)
    repeats = 2 if args.quick and args.repeats == 5 else args.repeats
    n_noop, n_tiny = (30, 5) if args.quick else (200, 20)
    cpus = os.cpu_count() or 1

    t0 = time.perf_counter()
    model = po.load_model("human")
    _ = model.compiled  # generate (or load) the code before timing anything
    from poi_ode.native import native_model

    try:
        openmp = bool(native_model(model).openmp)
    except po.PoiOdeError as exc:
        openmp = f"no compiled engine: {exc}"
    setup_s = time.perf_counter() - t0
    doses = np.geomspace(1e5, 1e8, n_doses)
    kw = {"route": "intraovarian", "endpoints": ["AMH@90", "FSH@90"], "initial": "poi", "uncertainty": "population"}
    n_sims = (n_doses + 1) * (n_draws + 1)
    on_executor = (n_doses + 1) * n_draws

    def job(executor, seed):
        return po.dose_response(model, "msc", doses, draws=n_draws, seed=seed, executor=executor, **kw)

    def tiny_job(executor, seed):
        return po.dose_response(model, "msc", [1e7], route="intraovarian", endpoints=["AMH@1"], initial="poi",
                                uncertainty="population", draws=4 * cpus, seed=10_000 + seed, executor=executor)

    configs = [Config("serial", 1, cpus, remote=False),
               Config("in-process, 1 thread", 1, 1, make=lambda: (InlineExecutor(), None), remote=False)]
    for w in (1, 2):
        configs.append(Config("process pool", w, 1, make=make_pool(w)))
    dask_note = None
    if not args.no_dask:
        try:
            import distributed  # noqa: F401
            for w in (1, 2):
                configs.append(Config("dask LocalCluster", w, 1, make=make_dask(w)))
        except ImportError:
            dask_note = "dask.distributed not installed: dask rows skipped"
    print(f"{n_sims} simulations per job ({on_executor} on the executor, {n_doses + 1} in this process); "
          f"{repeats} timed repeats per executor{' (QUICK)' if args.quick else ''}; {cpus} CPUs; "
          f"engine OpenMP: {openmp}; process start method: {multiprocessing.get_start_method()}; "
          f"model setup {setup_s:.2f} s", flush=True)

    reference: dict[int, object] = {}
    for cfg in configs:  # start every executor; first run (seed S) with worker imports and model build
        clear_steady_cache()  # forked workers inherit this process's cache
        cfg.start()
        cfg.first_run_s, dr = cfg.run(job, args.seed)
        if cfg.name == "serial":
            reference[args.seed] = dr
        cfg.checks.append({"seed": args.seed, **compare(reference[args.seed], dr)})
        print(f"  started {cfg.label}: {cfg.startup_s:.2f} s, first run {cfg.first_run_s:.2f} s", flush=True)
    for k in range(1, repeats + 1):  # side by side: within a repeat, every executor runs seed S + k
        seed = args.seed + k
        for cfg in configs:
            wall, dr = cfg.run(job, seed)
            cfg.times.append(wall)
            if cfg.name == "serial":
                reference[seed] = dr
            cfg.checks.append({"seed": seed, **compare(reference[seed], dr)})
        reference.pop(seed)
        print(f"  repeat {k}/{repeats} done", flush=True)

    inline = next(c for c in configs if c.name.startswith("in-process"))
    tiny_inline = []
    for k in range(n_tiny):
        clear_steady_cache()
        t0 = time.perf_counter()
        tiny_job(inline.executor, k + 1)
        tiny_inline.append(time.perf_counter() - t0)
    inline_tiny_s = statistics.median(tiny_inline)
    for cfg in configs:
        if cfg.remote:
            cfg.overhead = probe_overhead(cfg, tiny_job, n_noop, n_tiny, inline_tiny_s)
    for cfg in configs:
        cfg.stop()

    engine = engine_alone(model, doses, n_draws, args.seed, repeats)

    # ------------------------------------------------------------------ report
    inline_median = statistics.median(inline.times)
    serial_median = statistics.median(configs[0].times)
    rows = []
    for cfg in configs:
        med = statistics.median(cfg.times)
        bad = [c for c in cfg.checks if not c["identical"]]
        row = {"executor": cfg.name, "workers": cfg.workers, "threads_per_worker": cfg.threads,
               "startup_s": cfg.startup_s, "first_run_s": cfg.first_run_s, "shutdown_s": cfg.shutdown_s,
               "wall_s": stats(cfg.times), "s_per_10k": stats(cfg.times, PER / n_sims),
               "speedup_vs_in_process": inline_median / med, "speedup_vs_serial": serial_median / med,
               "tasks": cfg.tasks, "identical_to_serial": not bad, "differences": bad, "overhead": cfg.overhead}
        if cfg.remote and cfg.tasks:
            row["effective_overhead_ms_per_task"] = 1e3 * (cfg.workers * med - inline_median) / cfg.tasks
        rows.append(row)

    print()
    print(f"Time per {PER:,} simulations (job of {n_sims:,}; median of {repeats}, cold steady-state caches)"
          f"{'  [QUICK]' if args.quick else ''}")
    head = (f"{'executor':22s} {'workers':>7s} {'thr/w':>5s} {'startup s':>9s} {'1st run s':>9s} "
            f"{'median s':>8s} {'min':>6s} {'max':>6s} {'x in-proc':>9s} {'tasks':>5s} {'ovh ms/task':>11s} identical")
    print(head)
    print("-" * len(head))
    for r in rows:
        s = r["s_per_10k"]
        ovh = r.get("effective_overhead_ms_per_task")
        print(f"{r['executor']:22s} {r['workers']:7d} {r['threads_per_worker']:5d} {r['startup_s']:9.2f} "
              f"{r['first_run_s']:9.2f} {s['median']:8.2f} {s['min']:6.2f} {s['max']:6.2f} "
              f"{r['speedup_vs_in_process']:9.2f} {r['tasks'] if r['tasks'] else '-':>5} "
              f"{f'{ovh:.1f}' if ovh is not None else '-':>11s} {'yes' if r['identical_to_serial'] else 'NO'}")
    print("startup: creating the pool / cluster (a process pool forks its workers lazily, on the first run);"
          " 1st run: seed S, includes worker start, imports and model build;")
    print("ovh ms/task: effective, (workers x median wall - in-process median wall) / tasks.")
    for r in rows:
        for d in r["differences"]:
            print(f"  NOT IDENTICAL: {r['executor']} x{r['workers']} seed {d['seed']}: {d.get('n_different')} values "
                  f"differ, max abs {d.get('max_abs_diff')}, max rel {d.get('max_rel_diff')}")
    all_same = all(r["identical_to_serial"] for r in rows)
    print(f"tables identical across executors (np.array_equal on .draws and .control_draws, "
          f"{repeats + 1} seeds): {all_same}")

    print()
    print(f"Overhead per task (no-op: {n_noop} round trips one at a time, and {n_noop} submitted at once; "
          f"tiny job: median of {n_tiny}, 1 dose, AMH@1, one draw per task; tiny ovh = (wall - the same job inline, "
          f"{1e3 * inline_tiny_s:.1f} ms) / tasks, 1 worker only)")
    head = (f"{'executor':22s} {'workers':>7s} {'no-op rt ms':>11s} {'no-op burst ms':>14s} {'tiny job ms':>11s} "
            f"{'tasks':>5s} {'tiny ovh ms/task':>16s}")
    print(head)
    print("-" * len(head))
    for r in rows:
        o = r["overhead"]
        if not o:
            continue
        tiny_ovh = o.get("tiny_overhead_ms_per_task")
        tiny_ovh = f"{tiny_ovh:.1f}" if tiny_ovh is not None else "-"
        print(f"{r['executor']:22s} {r['workers']:7d} {o['noop_roundtrip_ms']['median']:11.2f} "
              f"{o['noop_burst_ms_per_task']:14.2f} {1e3 * o['tiny_job_s']['median']:11.1f} {o['tiny_job_tasks']:5d} "
              f"{tiny_ovh:>16s}")

    print()
    print(f"Engine alone: simulate_batch, one batch of {engine['simulations']:,} simulations, steady states cached "
          f"(median of {repeats}, s per {PER:,})")
    for t, s in engine["threads"].items():
        print(f"  threads={t}: {s['median']:.2f} s (min {s['min']:.2f}, max {s['max']:.2f})")
    t1, t2 = engine["threads"][1]["median"], engine["threads"][2]["median"]
    print(f"  speed-up 2 threads / 1: {t1 / t2:.2f}; "
          f"identical states 1 vs 2 threads: {engine['identical_1_vs_2_threads']}")
    if dask_note:
        print(dask_note)

    if args.json:
        report = {
            "case": (f"human, idiopathic POI, intraovarian MSC at day 0, {n_doses} doses 1e5-1e8 cells + control, "
                     f"AMH@90 and FSH@90, {n_draws} population draws + nominal"),
            "quick": args.quick, "simulations": n_sims, "simulations_on_executor": on_executor, "per": PER,
            "repeats": repeats, "seeds": [args.seed + k for k in range(repeats + 1)], "model_setup_s": setup_s,
            "openmp": openmp, "serial_threads": cpus, "executors": rows, "identical_across_executors": all_same,
            "tiny_job_inline_s": stats(tiny_inline), "engine_alone": engine, **versions(),
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
