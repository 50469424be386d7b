"""poi_ode's simulator against libRoadRunner (LLVM-compiled SBML, CVODE), side by side in one run.

Two cases, both on the human model exported by ``po.to_sbml`` (the same equations), at the
same tolerances (rtol 1e-6, atol 1e-9):

1. One simulation: 365 days, intraovarian MSCs 1e7 cells on days 0 and 90, 50 output times.
   Repeats alternate between the engines (so both see the same machine load); medians
   after a warm-up. poi_ode is timed through ``po.simulate`` (Python overhead included) and
   through the compiled engine alone; LSODA (the previous default) is timed too. Compile
   times are measured separately, in fresh processes with an empty code cache.
2. A dose-response of 200 doses x 200 'population' draws (plus the nominal set and the
   untreated control: 201 x 201 = 40,401 simulations, 90 days, AMH and FSH at day 90):
   ``po.dose_response`` (its default executor, a local process pool on every core, and the
   serial executor, the compiled engine's OpenMP threads) against a Python loop over
   libRoadRunner doing the same simulations; ours are medians of 3 alternating runs, each with
   no steady state cached. Favouring libRoadRunner, its
   loop gets every parameter vector and initial state (our steady states, doses added)
   precomputed outside the timed part: it only sets them, resets and simulates. The
   endpoints of both are compared.

    python benchmarks/bench_vs_roadrunner.py [--repeats 30] [--doses 200] [--draws 200] [--json out.json]
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy

import poi_ode as po
from poi_ode.native import native_model
from poi_ode.predict.uncertainty import draw_parameters
from poi_ode.simulate import dose_jumps, initial_state

RTOL, ATOL = 1e-6, 1e-9
_simulate_module = importlib.import_module("poi_ode.simulate")  # the package exports the function


def _roadrunner():
    import roadrunner

    return roadrunner


def _stats(durations: list[float]) -> dict:
    ms = [1e3 * d for d in durations]
    return dict(median_ms=statistics.median(ms), min_ms=min(ms), max_ms=max(ms), repeats=len(ms))


def _compile_times() -> dict:
    """Code generation + C compilation (ours) and SBML load + LLVM JIT (libRoadRunner), fresh processes."""
    ours = (
        "import time, poi_ode as po; from poi_ode.native import native_model; m = po.load_model('human'); "
        "t0 = time.perf_counter(); m.compiled; t1 = time.perf_counter(); native_model(m); "
        "print(t1 - t0, time.perf_counter() - t1)"
    )
    rr = (
        "import time, roadrunner, poi_ode as po; m = po.load_model('human'); "
        "r = po.Regimen([po.Dose(0, 'msc', 1e7, 'cells', 'intraovarian'), "
        "po.Dose(90, 'msc', 1e7, 'cells', 'intraovarian')]); "
        "s = po.to_sbml(m, r); t0 = time.perf_counter(); roadrunner.RoadRunner(s); print(time.perf_counter() - t0)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "POI_ODE_CACHE": cache}
        python_s, c_s = map(float, subprocess.run([sys.executable, "-c", ours], env=env, capture_output=True,
                                                  text=True, check=True).stdout.split())
        rr_s = float(subprocess.run([sys.executable, "-c", rr], env=env, capture_output=True, text=True,
                                    check=True).stdout)
    return dict(poi_ode_python_codegen_s=python_s, poi_ode_c_codegen_and_compile_s=c_s, roadrunner_load_jit_s=rr_s)


def single(repeats: int) -> dict:
    rr_mod = _roadrunner()
    model = po.load_model("human")
    regimen = po.Regimen([po.Dose(0, "msc", 1e7, "cells", "intraovarian"),
                          po.Dose(90, "msc", 1e7, "cells", "intraovarian")])
    times = np.linspace(0, 365, 50)
    rr = rr_mod.RoadRunner(po.to_sbml(model, regimen))
    rr.integrator.relative_tolerance, rr.integrator.absolute_tolerance = RTOL, ATOL
    rr.timeCourseSelections = ["time", *rr.model.getFloatingSpeciesIds()]
    engine = native_model(model)
    p = model.parameter_set.vector(model)
    q, y0 = np.array(model.compiled.prepare(p)), initial_state(model)
    dose_t, jumps = dose_jumps(regimen.resolve(model, p), len(y0))

    runs = {
        "libRoadRunner": lambda: (rr.reset(), rr.simulate(0, 365, 50)),
        "poi_ode simulate (rodas)": lambda: po.simulate(model, regimen, times=times, rtol=RTOL, atol=ATOL),
        "poi_ode engine alone (C)": lambda: engine.simulate(q, y0, dose_t, jumps, times, RTOL, ATOL, 100_000),
        "poi_ode simulate (LSODA)": lambda: po.simulate(model, regimen, times=times, rtol=RTOL, atol=ATOL,
                                                        method="LSODA"),
    }
    durations = {name: [] for name in runs}
    for f in runs.values():
        f()  # warm-up
    for k in range(repeats):
        for name, f in runs.items():
            if name.endswith("(LSODA)") and k >= max(5, repeats // 3):
                continue  # slow and only a reference: fewer repeats
            t0 = time.perf_counter()
            f()
            durations[name].append(time.perf_counter() - t0)
    ours = po.simulate(model, regimen, times=times, rtol=RTOL, atol=ATOL)
    rr.reset()
    theirs = rr.simulate(0, 365, 50)
    ids = list(rr.model.getFloatingSpeciesIds())
    theirs_states = np.column_stack([theirs[:, 1 + ids.index(s)] for s in model.state_names])
    scale = np.abs(theirs_states) + 1e-3 * np.abs(theirs_states).max(axis=0) + 1e-12
    agreement = float(np.max(np.abs(ours.states - theirs_states) / scale))
    table = {name: _stats(d) for name, d in durations.items()}
    base = table["libRoadRunner"]["median_ms"]
    for row in table.values():
        row["ratio_to_roadrunner"] = row["median_ms"] / base
    return dict(case="human, 365 days, 2 intraovarian MSC doses, 50 output times, rtol 1e-6, atol 1e-9",
                timings=table, steps=ours.stats.get("steps"), max_relative_difference_vs_roadrunner=agreement)


def dose_response(n_doses: int, n_draws: int) -> dict:
    rr_mod = _roadrunner()
    model = po.load_model("human")
    doses = np.geomspace(1e5, 1e8, n_doses)
    kw = dict(route="intraovarian", endpoints=["AMH@90", "FSH@90"], initial="poi", draws=n_draws,
              uncertainty="population", seed=1)
    po.dose_response(model, "msc", doses[:3], **{**kw, "draws": 2}, executor="serial")  # warm-up
    runs = {"default (process pool)": [], "serial (OpenMP threads)": []}
    for _ in range(3):  # alternating; every run cold: no steady state of a draw cached
        for label, executor in (("default (process pool)", None), ("serial (OpenMP threads)", "serial")):
            _simulate_module._STEADY_CACHE.clear()
            _simulate_module._HEALTHY_CACHE.clear()  # and no healthy state integrated from birth
            t0 = time.perf_counter()
            result = po.dose_response(model, "msc", doses, **kw, executor=executor)
            runs[label].append(time.perf_counter() - t0)
    ours = {label: statistics.median(d) for label, d in runs.items()}
    ours_s = ours["default (process pool)"]

    # the same simulations for libRoadRunner: draws, steady states and dosed initial states made here
    base = model.parameter_set
    draws = [{}] + draw_parameters(base, "population", n_draws, 1)
    regimens = [po.Regimen()] + [po.Regimen([po.Dose(0.0, "msc", float(d), "cells", "intraovarian")]) for d in doses]
    rr = rr_mod.RoadRunner(po.to_sbml(model, None, initial="poi"))
    rr.integrator.relative_tolerance, rr.integrator.absolute_tolerance = RTOL, ATOL
    rr.timeCourseSelections = ["AMH", "FSH"]
    species = list(rr.model.getFloatingSpeciesIds())
    order = [model.state_names.index(s) for s in species]
    globals_ = list(rr.model.getGlobalParameterIds())
    p_index = np.array([globals_.index(n) for n in model.parameter_names], dtype=np.int32)
    cases = []
    for values in draws:
        pset = base.with_values(values) if values else base
        p = pset.vector(model)
        y0 = initial_state(model, "poi", pset)
        starts = []
        for regimen in regimens:
            _, jumps = dose_jumps(regimen.resolve(model, p), len(y0))
            starts.append((y0 + jumps.sum(axis=0))[order])
        cases.append((p, starts))
    out = np.empty((len(draws), len(regimens), 2))
    t0 = time.perf_counter()
    for i, (p, starts) in enumerate(cases):
        rr.model.setGlobalParameterValues(p_index, p)
        for j, start in enumerate(starts):
            rr.model.setFloatingSpeciesInitAmounts(start)
            rr.reset()
            out[i, j] = rr.simulate(0, 90, 2)[-1]
    rr_s = time.perf_counter() - t0
    ours_values = np.concatenate([result.nominal[None], result.draws], axis=0)  # [draw, dose, endpoint]
    controls = np.concatenate([[result.control], result.control_draws])
    ours_all = np.concatenate([controls[:, None, :], ours_values], axis=1)
    difference = float(np.nanmax(np.abs(ours_all - out) / (np.abs(out) + 1e-9)))
    n = len(draws) * len(regimens)
    return dict(case=f"human POI, {n_doses} intraovarian MSC doses x ({n_draws} population draws + nominal) + control, "
                     "90 days, AMH and FSH at day 90", simulations=n, poi_ode_s=ours_s, roadrunner_loop_s=rr_s,
                poi_ode_ms_per_sim=1e3 * ours_s / n, roadrunner_ms_per_sim=1e3 * rr_s / n,
                speedup_per_sim=rr_s / ours_s, threads=os.cpu_count(), failed=int(result.failed),
                poi_ode_by_executor_s=ours, speedup_by_executor={k: rr_s / v for k, v in ours.items()},
                max_relative_endpoint_difference=difference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--doses", type=int, default=200)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rr_mod = _roadrunner()
    report = dict(single=single(args.repeats), compile=_compile_times(),
                  dose_response=dose_response(args.doses, args.draws),
                  versions=dict(python=platform.python_version(), numpy=np.__version__, scipy=scipy.__version__,
                                roadrunner=rr_mod.__version__, poi_ode=po.__version__),
                  cpus=os.cpu_count(), machine=platform.machine())
    s = report["single"]
    print(s["case"])
    print(f"{'engine':28s} {'median ms':>10s} {'min':>8s} {'max':>8s} {'ratio to RR':>12s}")
    for name, r in s["timings"].items():
        print(f"{name:28s} {r['median_ms']:10.3f} {r['min_ms']:8.3f} {r['max_ms']:8.3f} "
              f"{r['ratio_to_roadrunner']:12.2f}")
    print(f"RODAS4 steps {s['steps']}; largest relative difference to libRoadRunner "
          f"{s['max_relative_difference_vs_roadrunner']:.1e}")
    c = report["compile"]
    print(f"compile: poi_ode Python code {c['poi_ode_python_codegen_s']:.2f} s + C code and gcc "
          f"{c['poi_ode_c_codegen_and_compile_s']:.2f} s (cached on disk afterwards); "
          f"libRoadRunner load + JIT {c['roadrunner_load_jit_s']:.2f} s (each time)")
    d = report["dose_response"]
    print(d["case"])
    print(f"{d['simulations']} simulations on {d['threads']} cores; libRoadRunner loop {d['roadrunner_loop_s']:.1f} s "
          f"({d['roadrunner_ms_per_sim']:.3f} ms each); largest endpoint difference "
          f"{d['max_relative_endpoint_difference']:.1e}")
    for label, seconds in d["poi_ode_by_executor_s"].items():
        print(f"  poi_ode {label}: {seconds:.1f} s ({1e3 * seconds / d['simulations']:.3f} ms each), "
              f"{d['speedup_by_executor'][label]:.1f}x faster per simulation")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
