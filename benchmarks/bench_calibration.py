"""Calibration wall time and objective evaluations: finite-difference vs analytic Jacobians, and
(with ``--baseline``) the same fits by another checkout of poi_ode side by side.

Cases: every bundled calibration config (``fits/*.toml``: its model and mechanism, data,
exclusions, published pooled effects (``[evidence]``), free parameters, priors, initial states
and ages, as ``poi-ode fit`` runs it, but without the likelihood profiles unless ``--profiles``
and without writing anything), and a synthetic mouse study (three arms after cyclophosphamide +
busulfan, two with intraovarian MSCs; free ``s_M``, ``p_protect`` and ``kill_cyclophosphamide``).
Each case is fitted with ``jacobian="fd"`` (lmfit's forward differences) and ``"analytic"``
(forward sensitivities of the states and outputs, integrated by the compiled RODAS4 engine with
the exact augmented Jacobian for the default solver; an objective with published pooled effects
or relative values has no analytic Jacobian and is differentiated by differences either way),
with the residuals simulated by ``solver="rodas"`` (the compiled engine, the default) and, with
``--solvers rodas,LSODA``, by LSODA too.

With ``--baseline DIR`` each case is fitted by two worker processes, one importing poi_ode from
``DIR`` ("before": a checkout, or the package of a commit, ``git archive COMMIT poi_ode | tar -x -C
DIR``) and one from this checkout ("after"), which take
turns: every variant of both is warmed up once, then the repeats go round-robin over both codes
and all variants (one fit at a time; the other process waits idle), so load changes on a shared
machine hit before and after alike. Without it the cases run in this process with the poi_ode
it imports. ``--objective`` times one residual evaluation per case instead, all simulations in
one call of the compiled batch engine against arm by arm.

Reported per case, code and variant: median, min and max wall time of ``fit()`` over the
repeats (after one warm-up fit, timed separately), residual evaluations (all of them: optimiser
steps, finite-difference columns and the covariance Jacobian), Jacobian evaluations requested by
the optimiser (analytic: sensitivity solves; fd: difference Jacobians; the covariance Jacobian at
the estimate is one more), simulations, compiled-engine fallbacks to LSODA, final chi2 and
status; then the time ratios analytic/fd (per code) and after/before (per variant).

    python benchmarks/bench_calibration.py [--repeats 5] [--quick] [--profiles] [--solvers rodas]
        [--baseline DIR] [--cases NAME,...] [--objective] [--json benchmarks/bench_calibration.json]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import lmfit
import numpy as np
import scipy

import poi_ode as po
import poi_ode.fitting.estimation as estimation_module
import poi_ode.fitting.problem as problem_module
from poi_ode.data import Dataset
from poi_ode.data.synthetic import synthetic_dataset
from poi_ode.fitting.config import _dataset, read_config

FITS = Path(__file__).resolve().parents[1] / "fits"
JACOBIANS = ("fd", "analytic")


def config_case(path: Path, profiles: bool) -> dict:
    """The arguments ``run_config`` gives ``fit()`` for a config (outputs not written)."""
    config = read_config(path)
    model = po.load_model(config["species"], modules=config.get("modules"), mechanism=config.get("mechanism"))
    dataset, _ = _dataset(config)
    evidence = None
    if config.get("evidence"):  # as run_config: the evidence objective and its model of this species
        from poi_ode.mbma.calibration import evidence_objective
        from poi_ode.mbma.objective import CALIBRATION_KINDS

        spec = config["evidence"]
        evidence, _ = evidence_objective(
            spec["therapy"], config.get("mechanism") or "transient", spec.get("calibrate", CALIBRATION_KINDS),
            spec.get("effects", "preclinical_pooled_effects"), spec.get("designs", "preclinical_designs"))
        model = evidence.models[config["species"]]
    if config.get("age") and dataset is not None:  # as run_config: ages per arm
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
        "evidence": evidence,
    }
    n_obs = len(dataset) if dataset is not None else 0
    what = (f"{config['species']}, {n_obs} observations"
            + (f" + {len(evidence.fitted)} pooled effects" if evidence is not None else "")
            + f", free {', '.join(config.get('free') or ['default'])}"
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
    what = f"mouse, 3 arms, {len(data)} observations, free {', '.join(free)}"
    return {"name": "synthetic mouse", "description": what, "model": model, "data": data, "free": free, "kwargs": {}}


def all_cases(profiles: bool) -> list[str]:
    return [f"fits/{p.name}" for p in sorted(FITS.glob("*.toml"))] + ["synthetic mouse"]


def make_case(name: str, profiles: bool) -> dict:
    return mouse_case() if name == "synthetic mouse" else config_case(FITS / Path(name).name, profiles)


@contextlib.contextmanager
def counting():
    """Count, during the fits, the optimiser's Jacobian requests, analytic Jacobians that fell
    back to differences, simulations and compiled-engine fallbacks (wrappers, restored after).

    Simulations: the problem's own counters where it keeps them (a batched objective does not
    call ``simulate`` per arm), else the calls of ``simulate`` from the objective."""
    counts = {"njev": 0, "analytic_fallbacks": 0, "simulations": 0, "engine_fallbacks": 0, "problems": []}
    minimise, jacobian = estimation_module._minimise, problem_module.FitProblem.jacobian
    simulate, build = problem_module.simulate, problem_module.FitProblem.build

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

    def counted_build(*args, **kwargs):
        problem = build(*args, **kwargs)
        counts["problems"].append(problem)
        return problem

    estimation_module._minimise, problem_module.FitProblem.jacobian, problem_module.simulate = (
        counted_minimise, counted_jacobian, counted_simulate)
    problem_module.FitProblem.build = counted_build  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        estimation_module._minimise, problem_module.FitProblem.jacobian, problem_module.simulate = (
            minimise, jacobian, simulate)
        problem_module.FitProblem.build = build  # type: ignore[method-assign]
    problems = counts.pop("problems")
    if problems and hasattr(problems[-1], "n_simulations"):
        counts["simulations"] = sum(p.n_simulations for p in problems)
        counts["engine_fallbacks"] = sum(p.n_engine_fallbacks for p in problems)
        counts["batch_fallbacks"] = sorted({r for p in problems for r in p.batch_fallbacks})


def one_fit(case: dict, jacobian: str, solver: str):
    with counting() as counts:
        start = time.perf_counter()
        result = po.fit(case["model"], case["data"], case["free"], jacobian=jacobian, solver=solver, **case["kwargs"])
        elapsed = time.perf_counter() - start
    return elapsed, result, dict(counts)


def record(case: dict, jacobian: str, solver: str) -> dict:
    """One timed fit of ``case`` and what it did."""
    elapsed, result, counts = one_fit(case, jacobian, solver)
    return {"elapsed": elapsed, "residual_evaluations": result.n_evaluations, "jacobian_evaluations": counts["njev"],
            "analytic_fallbacks": counts["analytic_fallbacks"], "simulations": counts["simulations"],
            "engine_fallbacks": counts["engine_fallbacks"], "batch_fallbacks": counts.get("batch_fallbacks"),
            "failed_simulations": result.n_failed_simulations, "chi2": result.chi2, "status": result.status,
            "estimates": {p.key: p.value for p in result.parameters}}


class Local:
    """Fits in this process, with the poi_ode it imports."""

    def __init__(self, name: str, profiles: bool) -> None:
        self.case = make_case(name, profiles)
        _ = self.case["model"].compiled  # generated code built (and cached) before any timing
        self.description = self.case["description"]

    def fit(self, jacobian: str, solver: str) -> dict:
        return record(self.case, jacobian, solver)

    def close(self) -> None:
        pass


class Remote:
    """Fits in a process of its own that imports poi_ode from ``checkout`` (this script with
    ``--serve``: one fit per request line, its record as a JSON line); it waits, idle, between requests."""

    def __init__(self, checkout: Path, name: str, profiles: bool) -> None:
        env = {**os.environ, "PYTHONPATH": str(checkout), "MPLBACKEND": "Agg"}
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", name]
        command += ["--profiles"] if profiles else []
        self.what = f"{name} with poi_ode from {checkout}"
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.description = self._reply()["description"]

    def _reply(self) -> dict:
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.what}: the worker process ended (exit code {self.process.wait()})")
            if line.startswith("{"):  # (anything else the fit printed is not a reply)
                return json.loads(line)

    def fit(self, jacobian: str, solver: str) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{jacobian} {solver}\n")
        self.process.stdin.flush()
        return self._reply()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


def serve(name: str, profiles: bool) -> None:
    """The worker of :class:`Remote`."""
    local = Local(name, profiles)
    print(json.dumps({"description": local.description}), flush=True)
    for line in sys.stdin:
        jacobian, solver = line.split()
        print(json.dumps(local.fit(jacobian, solver)), flush=True)


def run_case(name: str, runners: dict, repeats: int, solvers: tuple[str, ...]) -> dict[str, dict]:
    """Every variant of every code once as a warm-up, then the repeats round-robin over the codes
    and variants (so that load changes on a shared machine hit all of them alike)."""
    keys = [(j, s) for s in solvers for j in JACOBIANS]
    warm = {(code, k): runner.fit(*k)["elapsed"] for code, runner in runners.items() for k in keys}
    durations: dict = {(code, k): [] for code in runners for k in keys}
    last: dict = {}
    for _ in range(repeats):
        for code, runner in runners.items():
            for k in keys:
                rec = runner.fit(*k)
                durations[(code, k)].append(rec.pop("elapsed"))
                last[(code, k)] = rec
    reports = {}
    for code, runner in runners.items():
        variants = {}
        for jacobian, solver in keys:
            times = durations[(code, (jacobian, solver))]
            variants[f"{jacobian}/{solver}"] = {
                "jacobian": jacobian, "solver": solver, "median_s": statistics.median(times), "min_s": min(times),
                "max_s": max(times), "warmup_s": warm[(code, (jacobian, solver))], "repeats": repeats,
                **last[(code, (jacobian, solver))]}
        v = variants
        ratios = {f"analytic/fd ({s})": v[f"analytic/{s}"]["median_s"] / v[f"fd/{s}"]["median_s"] for s in solvers}
        if "LSODA" in solvers and "rodas" in solvers:
            ratios.update({f"LSODA/rodas ({j})": v[f"{j}/LSODA"]["median_s"] / v[f"{j}/rodas"]["median_s"]
                           for j in JACOBIANS})
        reports[code] = {"case": name, "description": runner.description, "variants": variants, "ratios": ratios}
    return reports


def objective_times(name: str, repeats: int) -> dict:
    """One residual evaluation at the start vector with all simulations in one call of the compiled batch engine
    against arm by arm (``simulate`` per arm), alternating; ms per evaluation (min over ``repeats`` blocks)."""
    import timeit

    case = make_case(name, False)
    kw = case["kwargs"]
    problem = problem_module.FitProblem.build(case["model"], case["data"] or Dataset.empty(), case["free"],
                                              kw.get("per_study", ()), kw.get("priors"),
                                              kw.get("error_model", "lognormal"), kw.get("sigma", 0.3),
                                              kw.get("regimens"), kw.get("initial"), kw.get("scales", ()))
    theta = problem.initial_vector()
    problem.residuals(theta)  # caches (healthy states) filled for both
    times: dict = {True: [], False: []}
    for _ in range(repeats):
        for batch in (True, False):
            problem.batch = batch
            times[batch].append(timeit.timeit(lambda: problem.residuals(theta), number=10) / 10 * 1e3)
    sims = len(problem._simulation_jobs(problem.parameter_sets(theta)))
    return {"case": name, "arms": len(problem.arms), "simulations_per_evaluation": sims,
            "batched_ms": min(times[True]), "arm_by_arm_ms": min(times[False]),
            "ratio": min(times[True]) / min(times[False])}


def print_case(rep: dict, code: str = "") -> None:
    for r in rep["variants"].values():
        print(f"{rep['case']:34s} {code:7s} {r['jacobian']:8s} {r['solver']:6s} {r['median_s']:9.3f} {r['min_s']:7.3f} "
              f"{r['max_s']:7.3f} {r['warmup_s']:8.3f} {r['residual_evaluations']:8d} "
              f"{r['jacobian_evaluations']:6d} {r['simulations']:6d} {r['chi2']:12.8g}  {r['status']}"
              + (f" ({r['engine_fallbacks']} engine fallbacks)" if r["engine_fallbacks"] else "")
              + (f" ({r['analytic_fallbacks']} analytic->fd)" if r["analytic_fallbacks"] else ""), flush=True)
    print(f"{'':34s} {code:7s} time ratios: " + ", ".join(f"{k} {x:.2f}" for k, x in rep["ratios"].items()),
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed fits per variant after a warm-up (default: 5)")
    parser.add_argument("--quick", action="store_true", help="one timed fit per variant (development)")
    parser.add_argument("--profiles", action="store_true", help="include the configs' likelihood profiles")
    parser.add_argument("--solvers", default="rodas", help="comma-separated solvers of the residuals (default: rodas; "
                        "rodas,LSODA adds the previous engine)")
    parser.add_argument("--baseline", default=None, help="a checkout of poi_ode to run side by side ('before')")
    parser.add_argument("--cases", default=None, help="comma-separated case names (default: all)")
    parser.add_argument("--objective", action="store_true", help="time one residual evaluation batched against "
                        "arm by arm instead (this checkout only; cases with data)")
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)  # a Remote worker for one case
    parser.add_argument("--json", default=None, help="write the report as JSON to this path")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    if repeats < 1:
        parser.error("--repeats must be >= 1")
    solvers = tuple(s.strip() for s in args.solvers.split(",") if s.strip())
    if args.serve:
        serve(args.serve, args.profiles)
        return
    names = all_cases(args.profiles)
    if args.cases:
        wanted = [n.strip() for n in args.cases.split(",")]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            parser.error(f"unknown case(s) {unknown}; cases: {names}")
        names = wanted
    if args.objective:
        rows = [objective_times(n, max(repeats, 3)) for n in names if "evidence" not in n]
        print(f"{'case':38s} {'arms':>4s} {'sims':>4s} {'batched ms':>10s} {'arm by arm ms':>13s} {'ratio':>6s}")
        for r in rows:
            print(f"{r['case']:38s} {r['arms']:4d} {r['simulations_per_evaluation']:4d} {r['batched_ms']:10.2f} "
                  f"{r['arm_by_arm_ms']:13.2f} {r['ratio']:6.2f}")
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump({"benchmark": "one residual evaluation: batched vs arm by arm", "rows": rows}, fh, indent=2)
        return
    here = Path(__file__).resolve().parents[1]
    codes = {"before": Path(args.baseline).resolve(), "after": here} if args.baseline else {"": here}

    t0 = time.perf_counter()
    print(f"{'case':34s} {'code':7s} {'jacobian':8s} {'solver':6s} {'median s':>9s} {'min':>7s} {'max':>7s} "
          f"{'warm-up':>8s} {'resid ev':>8s} {'jac ev':>6s} {'sims':>6s} {'chi2':>12s}  status", flush=True)
    reports = []
    for name in names:
        runners = {code: (Remote(checkout, name, args.profiles) if args.baseline else Local(name, args.profiles))
                   for code, checkout in codes.items()}
        try:
            per_code = run_case(name, runners, repeats, solvers)
        finally:
            for runner in runners.values():
                runner.close()
        for code, rep in per_code.items():
            print_case(rep, code)
        if args.baseline:
            b, a = per_code["before"], per_code["after"]
            ratios = {f"after/before ({k})": a["variants"][k]["median_s"] / b["variants"][k]["median_s"]
                      for k in a["variants"]}
            print(f"{'':34s} {'':7s} time ratios: " + ", ".join(f"{k} {x:.2f}" for k, x in ratios.items()),
                  flush=True)
            reports.append({"case": name, "description": a["description"], "before": b, "after": a,
                            "ratios": ratios})
        else:
            reports.append(per_code[""])
    print(f"{'quick: 1 repeat' if args.quick else f'{repeats} repeats'} after a warm-up; {os.cpu_count()} CPUs; "
          f"total {time.perf_counter() - t0:.0f} s" + (f"; before: {codes['before']}" if args.baseline else ""))
    if args.json:
        report = {
            "benchmark": "calibration: fd vs analytic Jacobian" + (", before vs after" if args.baseline else ""),
            "repeats": repeats, "quick": args.quick, "profiles": args.profiles, "solvers": list(solvers),
            "baseline": "the checkout given by --baseline (before)" if args.baseline else None,
            "cases": reports, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "lmfit": lmfit.__version__, "poi_ode": po.__version__,
            "cpu_count": os.cpu_count(), "machine": platform.machine(),
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
