"""Forward sensitivities in the compiled engine against scipy's, and what they do to fits.

Part 1, sensitivities: ``po.sensitivity.forward(..., method="rodas")`` (RODAS4 on the augmented
system, in C) against ``method="LSODA"`` (scipy's odeint on the same equations, banded Newton
matrix), same tolerances: the synthetic mouse study's MSC arm (three parameters, 56 days, at the
fits' sensitivity tolerances 1e-7/1e-10 and at 1e-9/1e-12) and a healthy woman's natural history
from birth to 30 years then 90 days after an MSC dose (three parameters).

Part 2, fits: ``po.fit(jacobian="fd")`` against ``jacobian="analytic"`` (compiled sensitivities),
both with the compiled engine for the residuals, on the cases of ``bench_calibration.py`` (the
synthetic mouse study and every bundled config, without profiles).

Part 3 (``--parallel``): multistart and profiles of the synthetic mouse study run serially and
on a local process pool: a new one per fit (``fit(executor="processes")``; its start-up, a
model load per worker, included) and one kept across fits (its workers keep their model).

Every variant runs once as a warm-up (libraries built and cached), then the repeats alternate
between the variants so load changes on a shared machine hit them alike; medians are reported
with the ratios.

    python benchmarks/bench_sensitivities.py [--repeats 5] [--quick] [--no-fits] [--parallel] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

import poi_ode as po
from poi_ode.sensitivity import forward

HERE = Path(__file__).resolve().parent


def _alternating(variants: dict, repeats: int) -> dict[str, dict]:
    """Median, min and max seconds of each callable, run round-robin after one warm-up each."""
    results = {name: f() for name, f in variants.items()}  # warm-up
    durations: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, f in variants.items():
            t0 = time.perf_counter()
            results[name] = f()
            durations[name].append(time.perf_counter() - t0)
    return {name: {"median_s": statistics.median(d), "min_s": min(d), "max_s": max(d), "result": results[name]}
            for name, d in durations.items()}


def sensitivity_cases() -> list[dict]:
    mouse, human = po.load_model("mouse"), po.load_model("human")
    induction = [po.Dose(0, "cyclophosphamide", 120, "mg/kg", "intraperitoneal"),
                 po.Dose(0, "busulfan", 30, "mg/kg", "intraperitoneal"),
                 po.Dose(14, "msc", 1e6, "cells", "intraovarian")]
    mouse_args = dict(model=mouse, regimen=induction, times=[0.0, 7, 14, 21, 28, 42, 56],
                      parameters=["s_M", "p_protect", "kill_cyclophosphamide"])
    human_args = dict(model=human, regimen=[po.Dose(0, "msc", 1e7, "cells", "intraovarian")], times=[0.0, 30, 90],
                      parameters=["k_act", "F_prim_start", "s_M"])
    return [
        {"name": "mouse MSC arm, rtol 1e-7", "args": mouse_args, "tol": {"rtol": 1e-7, "atol": 1e-10}},
        {"name": "mouse MSC arm, rtol 1e-9", "args": mouse_args, "tol": {"rtol": 1e-9, "atol": 1e-12}},
        {"name": "human from birth, rtol 1e-7", "args": human_args, "tol": {"rtol": 1e-7, "atol": 1e-10}},
    ]


def run_sensitivities(repeats: int) -> list[dict]:
    out = []
    for case in sensitivity_cases():
        a, tol = case["args"], case["tol"]
        variants = {m: (lambda m=m: forward(a["model"], a["regimen"], a["times"], parameters=a["parameters"],
                                            method=m, **tol)) for m in ("rodas", "LSODA")}
        timed = _alternating(variants, repeats)
        ours, ref = timed["rodas"].pop("result"), timed["LSODA"].pop("result")
        scale = np.abs(ref.S).max(axis=(0, 1)) + 1e-300
        gap = float(np.max(np.abs(ours.S - ref.S) / scale))
        out.append({"case": case["name"], "variants": timed, "largest_gap_of_S": gap,
                    "ratio compiled/scipy": timed["rodas"]["median_s"] / timed["LSODA"]["median_s"]})
    return out


def run_fits(repeats: int) -> list[dict]:
    from bench_calibration import FITS, config_case, mouse_case

    cases = [mouse_case()] + [config_case(p, False) for p in sorted(FITS.glob("*.toml"))]
    out = []
    for case in cases:
        variants = {j: (lambda j=j: po.fit(case["model"], case["data"], case["free"], jacobian=j, **case["kwargs"]))
                    for j in ("fd", "analytic")}
        timed = _alternating(variants, repeats)
        for v in timed.values():
            r = v.pop("result")
            v.update({"chi2": r.chi2, "residual_evaluations": r.n_evaluations, "status": r.status})
        out.append({"case": case["name"], "description": case["description"], "variants": timed,
                    "ratio analytic/fd": timed["analytic"]["median_s"] / timed["fd"]["median_s"]})
    return out


def run_parallel(repeats: int) -> list[dict]:
    """The synthetic mouse study with 4 extra starts, then with profiles of its 3 free
    parameters: serially against a local process pool (``executor="processes"``)."""
    from concurrent.futures import ProcessPoolExecutor

    from bench_calibration import mouse_case

    case = mouse_case()
    out = []
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # kept: workers keep their model
        executors = {"serial": "serial", "processes": "processes", "kept pool": pool}
        for label, extra in (("multistart 4", {"multistart": 4}), ("profiles of 3", {"profiles": True})):
            variants = {name: (lambda ex=ex: po.fit(case["model"], case["data"], case["free"], executor=ex, **extra))
                        for name, ex in executors.items()}
            timed = _alternating(variants, repeats)
            chi2 = {name: v.pop("result").chi2 for name, v in timed.items()}
            out.append({"case": f"synthetic mouse, {label}", "variants": timed,
                        "same_chi2": len(set(chi2.values())) == 1,
                        "ratio processes/serial": timed["processes"]["median_s"] / timed["serial"]["median_s"],
                        "ratio kept pool/serial": timed["kept pool"]["median_s"] / timed["serial"]["median_s"]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per variant after a warm-up (default: 5)")
    parser.add_argument("--quick", action="store_true", help="one timed run per variant (development)")
    parser.add_argument("--no-fits", action="store_true", help="only part 1 (the sensitivities)")
    parser.add_argument("--parallel", action="store_true", help="also multistart and profiles on a process pool")
    parser.add_argument("--json", default=None, help="write the report as JSON to this path")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    if repeats < 1:
        parser.error("--repeats must be >= 1")

    sens = run_sensitivities(repeats)
    print(f"{'sensitivities':30s} {'compiled s':>10s} {'scipy s':>9s} {'ratio':>7s} {'max gap':>9s}")
    for r in sens:
        v = r["variants"]
        print(f"{r['case']:30s} {v['rodas']['median_s']:10.4f} {v['LSODA']['median_s']:9.4f} "
              f"{r['ratio compiled/scipy']:7.3f} {r['largest_gap_of_S']:9.2e}")
    fits = [] if args.no_fits else run_fits(repeats)
    if fits:
        print(f"\n{'fit':34s} {'fd s':>8s} {'analytic s':>10s} {'ratio':>7s} {'evals fd/an':>12s} {'chi2 fd':>12s} "
              f"{'chi2 analytic':>14s}")
    for r in fits:
        fd, an = r["variants"]["fd"], r["variants"]["analytic"]
        print(f"{r['case']:34s} {fd['median_s']:8.3f} {an['median_s']:10.3f} {r['ratio analytic/fd']:7.3f} "
              f"{fd['residual_evaluations']:5d}/{an['residual_evaluations']:<6d} {fd['chi2']:12.6g} {an['chi2']:14.6g}")
    parallel = run_parallel(repeats) if args.parallel else []
    for r in parallel:
        v = r["variants"]
        print(f"{r['case']:34s} serial {v['serial']['median_s']:.3f} s, "
              f"new pool {v['processes']['median_s']:.3f} s ({r['ratio processes/serial']:.2f}), "
              f"kept pool {v['kept pool']['median_s']:.3f} s ({r['ratio kept pool/serial']:.2f}), "
              f"same chi2: {r['same_chi2']}")
    print(f"medians of {repeats} after a warm-up; {os.cpu_count()} CPUs")
    if args.json:
        report = {"benchmark": "compiled vs scipy sensitivities; analytic vs finite-difference fits",
                  "repeats": repeats,
                  "sensitivities": sens, "fits": fits, "parallel": parallel,
                  "python": platform.python_version(), "poi_ode": po.__version__,
                  "cpu_count": os.cpu_count(), "machine": platform.machine()}
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2, default=float)


if __name__ == "__main__":
    main()
