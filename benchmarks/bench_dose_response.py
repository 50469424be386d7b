"""Time a 200-dose x 200-draw dose-response (40,000 simulations), serial vs a process pool.

Woman with idiopathic POI, intraovarian MSCs at day 0, endpoints AMH and FSH at day 90,
'population' draws. Both runs use the same seed and must give identical tables; the script
checks that and prints the time per simulation and the ratio.

    python benchmarks/bench_dose_response.py [--doses 200] [--draws 200] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import poi_ode as po


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doses", type=int, default=200)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    model = po.load_model("human")
    doses = np.geomspace(1e5, 1e8, args.doses)
    kw = dict(route="intraovarian", endpoints=["AMH@90", "FSH@90"], initial="poi", draws=args.draws,
              uncertainty="population", seed=1)
    n = args.doses * (args.draws + 1)
    po.dose_response(model, "msc", doses[:3], **{**kw, "draws": 2}, executor="serial")  # warm-up
    t0 = time.perf_counter()
    serial = po.dose_response(model, "msc", doses, **kw, executor="serial")
    t_serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        parallel = po.dose_response(model, "msc", doses, **kw, executor=pool)
    t_pool = time.perf_counter() - t0
    same = bool(np.array_equal(serial.draws, parallel.draws, equal_nan=True))
    report = dict(simulations=n, serial_s=t_serial, pool_s=t_pool, workers=args.workers,
                  serial_ms_per_sim=1e3 * t_serial / n, pool_ms_per_sim=1e3 * t_pool / n,
                  speedup=t_serial / t_pool, identical=same, python=platform.python_version(), cpus=os.cpu_count())
    print(f"{n} simulations: serial {t_serial:.1f} s ({report['serial_ms_per_sim']:.2f} ms each), "
          f"process pool x{args.workers} {t_pool:.1f} s ({report['pool_ms_per_sim']:.2f} ms each); "
          f"speed-up {report['speedup']:.2f}; identical tables: {same}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
