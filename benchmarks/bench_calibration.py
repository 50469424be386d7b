"""Calibration wall time and objective evaluations: finite-difference vs analytic Jacobians,
compiled RODAS4 vs LSODA simulations.

Cases: every bundled calibration config (``fits/*.toml``: its model, data, exclusions, free
parameters, priors, initial states and ages, as ``poi-ode fit`` runs it, but without the
likelihood profiles unless ``--profiles`` and without writing anything), and a synthetic
mouse study (three arms after cyclophosphamide + busulfan, two with intraovarian MSCs; free
``s_M``, ``p_protect`` and ``kill_cyclophosphamide``). Each case is fitted side by side in
one run with ``jacobian="fd"`` and ``"analytic"`` and with the residuals simulated by
``solver="rodas"`` (the compiled engine, the default) and ``"LSODA"`` (the previous engine).
The analytic Jacobian integrates the forward sensitivities with scipy's odeint whichever
solver simulates the residuals.

Reported per case and variant: median, min and max wall time of ``fit()`` over the repeats
(after one warm-up fit, timed separately), residual evaluations (all of them: optimiser
steps, finite-difference columns and the covariance Jacobian), Jacobian evaluations requested
by the optimiser (analytic: sensitivity solves; fd: difference Jacobians; the covariance
Jacobian at the estimate is one more), simulations, compiled-engine fallbacks to LSODA,
final chi2 and status; then the time ratios fd/analytic and LSODA/rodas.

    python benchmarks/bench_calibration.py [--repeats 5] [--quick] [--profiles] [--json benchmarks/bench_calibration.json]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import time
from pathlib import Path

import lmfit
import numpy as np
import scipy

import poi_ode as po
import poi_ode.fitting.problem as problem_module
from poi_ode import fitting
from poi_ode.data import Dataset
from poi_ode.data.synthetic import synthetic_dataset
from poi_ode.fitting.config import _dataset, read_config

FITS = Path(__file__).resolve().parents[1] / "fits"
JACOBIANS = ("fd", "analytic")
SOLVERS = ("rodas", "LSODA")


def config_case(path: Path, profiles: bool) -> dict:
    """The arguments ``run_config`` gives ``fit()`` for a config (outputs not written)."""
    config = read_config(path)
    model = po.load_model(config["species"], modules=config.get("modules"))
    dataset, _ = _dataset(config)
    if config.get("age"):  # as run_config: ages per arm
        frame = dataset.frame.copy()
        for arm, age in config["age"].items():
            mask = (frame["arm"] == arm) | ((frame["study_id"] + "/" + frame["arm"]) == arm)
            frame.loc[mask, "age_years"] = str(age)
        dataset = Dataset(frame, dataset.name, dataset.meta)
    kwargs = {
        "per_study": config.get("per_study", ()), "priors": config.get("priors"),
        "error_model": config.get("error_model", "lognormal"), "sigma": config.get("sigma", 0.3),
        "regimens": config.get("regimens"), "initial": dict(config.get("initial", {})) or None,
        "scales": config.get("scales", ()), "method": config.get("method", "least_squares"),
        "multistart": config.get("multistart", 0), "seed": config.get("seed", 0),
        "profiles": config.get("profiles", False) if profiles else False, "mcmc_steps": 0, "name": config["name"],
    }
    what = (f"{config['species']}, {len(dataset)} observations, free {', '.join(config.get('free') or ['default'])}"
            + ("" if profiles or not config.get("profiles") else "; profiles off"))
    return {"name": f"fits/{path.name}", "description": what, "model": model, "data": dataset,
            "free": config.get("free"), "kwargs": kwargs}


def mouse_case() -> dict:
    """The synthetic mouse study (seeded): three arms, three free parameters."""
    model = po.load_model("mouse")
    induction = "0:cyclophosphamide:120:mg/kg:intraperitoneal; 0:busulfan:30:mg/kg:intraperitoneal"
    arms = {"ctx": induction, "msc1": induction + "; 14:msc:1e6:cells:intraovarian",
            "msc4": induction + "; 14:msc:4e6:cells:intraovarian"}
    data = synthetic_dataset(model, arms, [7, 14, 21, 28, 42, 56], params={"s_M": 1e-6, "p_protect": 0.7}, seed=1)
    free = ["s_M", "p_protect", "kill_cyclophosphamide"]
    return {"name": "synthetic mouse", "description": f"mouse, 3 arms, {len(data)} observations, free {', '.join(free)}",
            "model": model, "data": data, "free": free, "kwargs": {}}


@contextlib.contextmanager
def counting():
    """Count, during the fits, the optimiser's Jacobian requests, analytic Jacobians that fell
    back to differences, simulations and compiled-engine fallbacks (wrappers, restored after)."""
    counts = {"njev": 0, "analytic_fallbacks": 0, "simulations": 0, "engine_fallbacks": 0}
    minimise, jacobian, simulate = fitting._minimise, problem_module.FitProblem.jacobian, problem_module.simulate

    def counted_minimise(*args, **kwargs):
        theta, out = minimise(*args, **kwargs)
        counts["njev"] += int(getattr(out, "njev", 0) or 0)
        return theta, out

    def counted_jacobian(self, theta):
        jac = jacobian(self, theta)
        counts["analytic_fallbacks"] += jac is None
        return jac

    def counted_simulate(*args, **kwargs):
        traj = simulate(*args, **kwargs)
        counts["simulations"] += 1
        counts["engine_fallbacks"] += "fallback" in traj.stats
        return traj

    fitting._minimise, problem_module.FitProblem.jacobian, problem_module.simulate = (
        counted_minimise, counted_jacobian, counted_simulate)
    try:
        yield counts
    finally:
        fitting._minimise, problem_module.FitProblem.jacobian, problem_module.simulate = minimise, jacobian, simulate


def one_fit(case: dict, jacobian: str, solver: str):
    with counting() as counts:
        start = time.perf_counter()
        result = po.fit(case["model"], case["data"], case["free"], jacobian=jacobian, solver=solver, **case["kwargs"])
        elapsed = time.perf_counter() - start
    return elapsed, result, dict(counts)


def run_case(case: dict, repeats: int) -> dict:
    """Every variant once as a warm-up, then the repeats round-robin over the variants (so that
    load changes on a shared machine hit all of them alike)."""
    keys = [(j, s) for s in SOLVERS for j in JACOBIANS]
    warm = {k: one_fit(case, *k)[0] for k in keys}
    durations: dict = {k: [] for k in keys}
    last: dict = {}
    for _ in range(repeats):
        for k in keys:
            d, result, counts = one_fit(case, *k)
            durations[k].append(d)
            last[k] = (result, counts)
    variants = {}
    for (jacobian, solver), times in durations.items():
        result, counts = last[(jacobian, solver)]
        variants[f"{jacobian}/{solver}"] = {
            "jacobian": jacobian, "solver": solver, "median_s": statistics.median(times), "min_s": min(times),
            "max_s": max(times), "warmup_s": warm[(jacobian, solver)], "repeats": repeats,
            "residual_evaluations": result.n_evaluations, "jacobian_evaluations": counts["njev"],
            "analytic_fallbacks": counts["analytic_fallbacks"], "simulations": counts["simulations"],
            "engine_fallbacks": counts["engine_fallbacks"], "failed_simulations": result.n_failed_simulations,
            "chi2": result.chi2, "status": result.status, "estimates": {p.key: p.value for p in result.parameters},
        }
    v = variants
    ratios = {f"fd/analytic ({s})": v[f"fd/{s}"]["median_s"] / v[f"analytic/{s}"]["median_s"] for s in SOLVERS}
    ratios.update({f"LSODA/rodas ({j})": v[f"{j}/LSODA"]["median_s"] / v[f"{j}/rodas"]["median_s"] for j in JACOBIANS})
    return {"case": case["name"], "description": case["description"], "variants": variants, "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed fits per variant after a warm-up (default: 5)")
    parser.add_argument("--quick", action="store_true", help="one timed fit per variant (development)")
    parser.add_argument("--profiles", action="store_true", help="include the configs' likelihood profiles")
    parser.add_argument("--json", default=None, help="write the report as JSON to this path")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    if repeats < 1:
        parser.error("--repeats must be >= 1")

    t0 = time.perf_counter()
    cases = [config_case(p, args.profiles) for p in sorted(FITS.glob("*.toml"))] + [mouse_case()]
    for case in cases:
        _ = case["model"].compiled  # generated code built (and cached) before any timing
    setup = time.perf_counter() - t0
    reports = [run_case(case, repeats) for case in cases]

    print(f"{'case':28s} {'jacobian':8s} {'solver':6s} {'median s':>9s} {'min':>7s} {'max':>7s} {'warm-up':>8s} "
          f"{'resid ev':>8s} {'jac ev':>6s} {'sims':>6s} {'chi2':>10s}  status")
    for rep in reports:
        for r in rep["variants"].values():
            print(f"{rep['case']:28s} {r['jacobian']:8s} {r['solver']:6s} {r['median_s']:9.3f} {r['min_s']:7.3f} "
                  f"{r['max_s']:7.3f} {r['warmup_s']:8.3f} {r['residual_evaluations']:8d} "
                  f"{r['jacobian_evaluations']:6d} {r['simulations']:6d} {r['chi2']:10.6g}  {r['status']}"
                  + (f" ({r['engine_fallbacks']} engine fallbacks)" if r["engine_fallbacks"] else "")
                  + (f" ({r['analytic_fallbacks']} analytic->fd)" if r["analytic_fallbacks"] else ""))
        print(f"{'':28s} time ratios: " + ", ".join(f"{k} {x:.2f}" for k, x in rep["ratios"].items()))
    print(f"{'quick: 1 repeat' if args.quick else f'{repeats} repeats'} after a warm-up; "
          f"{os.cpu_count()} CPUs; setup (load, compile) {setup:.1f} s")
    if args.json:
        report = {
            "benchmark": "calibration: fd vs analytic Jacobian, compiled RODAS4 vs LSODA", "repeats": repeats,
            "quick": args.quick, "profiles": args.profiles, "setup_s": setup, "cases": reports,
            "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "lmfit": lmfit.__version__, "poi_ode": po.__version__, "cpu_count": os.cpu_count(), "machine": platform.machine(),
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
