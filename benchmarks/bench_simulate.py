"""Time one human simulation: 365 days, two intraovarian MSC doses, 50 output times.

Reports the median over repeats (after warm-up), the number of right-hand-side and Jacobian
evaluations, and, side by side in the same run, the same simulation with scipy's BDF (a
reference engine built into scipy) as a ratio. Writes JSON next to this script when
``--json`` is given.

    python benchmarks/bench_simulate.py [--repeats 30] [--json benchmarks/bench_simulate.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import scipy
import sympy

import poi_ode as po


def one_run(model, regimen, times, method):
    start = time.perf_counter()
    traj = po.simulate(model, regimen, times=times, method=method)
    return time.perf_counter() - start, traj.stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    t0 = time.perf_counter()
    model = po.load_model("human")
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.compiled
    compile_time = time.perf_counter() - t0
    regimen = po.Regimen([po.Dose(0, "msc", 1e7, "cells", "intraovarian"), po.Dose(90, "msc", 1e7, "cells", "intraovarian")])
    times = np.linspace(0, 365, 50)
    t0 = time.perf_counter()
    po.initial_state(model)
    steady = time.perf_counter() - t0

    results = {}
    for method in ("LSODA", "BDF"):
        one_run(model, regimen, times, method)  # warm-up (steady state cached per call is recomputed)
        durations, stats = [], None
        for _ in range(args.repeats if method == "LSODA" else max(5, args.repeats // 6)):
            d, stats = one_run(model, regimen, times, method)
            durations.append(d)
        results[method] = dict(median_ms=1e3 * statistics.median(durations), min_ms=1e3 * min(durations),
                               max_ms=1e3 * max(durations), repeats=len(durations), nfe=stats["nfe"], nje=stats["nje"])
    ratio = results["BDF"]["median_ms"] / results["LSODA"]["median_ms"]
    report = dict(
        case="human, 365 days, 2 intraovarian MSC doses, 50 output times (initial steady state included)",
        load_model_s=load, compile_s=compile_time, steady_state_ms=1e3 * steady, results=results,
        bdf_over_lsoda=ratio, python=platform.python_version(), numpy=np.__version__, scipy=scipy.__version__,
        sympy=sympy.__version__, machine=platform.machine(),
    )
    print(f"{'method':8s} {'median ms':>10s} {'min':>8s} {'max':>8s} {'rhs evals':>10s} {'jac evals':>10s}")
    for method, r in results.items():
        print(f"{method:8s} {r['median_ms']:10.2f} {r['min_ms']:8.2f} {r['max_ms']:8.2f} {r['nfe']:10d} {r['nje']:10d}")
    print(f"steady state alone: {1e3 * steady:.1f} ms; BDF/LSODA time ratio: {ratio:.2f}; "
          f"load {load:.2f} s, compile {compile_time:.2f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
