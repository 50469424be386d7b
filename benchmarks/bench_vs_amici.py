"""Calibration side by side: poi_ode (``po.fit``) against pyPESTO + AMICI on the same PEtab problems.

Each case is exported by ``po.to_petab`` and imported by ``pypesto.petab.PetabImporter``
(AMICI generates and compiles the model: timed once, separately). Then, in one run, with the
repeats alternating between the tools (so that load changes on the shared machine hit both
alike), three tasks are timed:

1. **single fit**: one local fit from the nominal vector;
2. **multistart**: 20 local fits from one shared list of starts: the nominal vector and 19
   Latin-hypercube points in the bounds, drawn once (``scipy.stats.qmc``, seed ``--seed``) in
   the parameter scale (log10 for log-scale parameters), exactly the points that
   ``po.fit(multistart=19, seed=seed)`` draws (checked), handed to pyPESTO as ``x_guesses``;
3. **profiles**: a local fit from the nominal vector, then the likelihood profiles of every free
   parameter.

Settings (the best each tool has here; several poi_ode variants are timed and the table's
ratio takes the fastest): poi_ode ``method="least_squares"`` (scipy TRF through lmfit); the
single fit with ``jacobian="fd"`` and ``"analytic"`` (compiled forward sensitivities), the
multistart with fd and analytic on ``executor="processes"`` (a process pool on every core) and
analytic serially, the profiles with analytic serially and on processes (profile steps
re-optimise with finite differences whatever the ``jacobian``). pyPESTO:
``ScipyOptimizer(method="ls_trf")`` on AMICI's residuals and their forward sensitivities
(AMICI's default CVODES tolerances); the single fit on ``SingleCoreEngine``, multistart and
profiles on ``MultiThreadEngine`` (every core; ``MultiProcessEngine`` cannot pickle the AMICI
objective of the PyPI wheel, built without HDF5); profiles from the local fit with
``ProfileOptions(ratio_min=exp(-5.76 / 2))``, the rise at which poi_ode's profile steps stop
(chi2 + 1.5 x 3.84). The two profile algorithms differ (poi_ode: 8 fixed steps per side up
to the bound; pyPESTO: adaptive steps): the number of profile points of each is reported.

Same scale: pyPESTO minimises the PEtab negative log-posterior ``J = sum_i [log(sigma_i y_i)
+ 0.5 log(2 pi) + 0.5 z_i^2]`` (log-normal observables; ``y_i`` drops for linear ones) plus
``0.5 log(2 pi sd^2) + 0.5 z^2`` per prior, poi_ode ``chi2 = sum z_i^2`` over data and
priors. So ``chi2 = 2 J - C`` with ``C = sum_i log(2 pi sigma_i^2 y_i^2) + sum_priors log(2
pi sd^2)``, computed from the exported tables; checked at the nominal vector and at two
random starts against poi_ode's own residuals (``scale check``). Both tools' optima are then
compared as chi2: ``|chi2_pyPESTO - chi2_poi_ode| <= 1e-3 chi2_poi_ode + 1e-6`` (the absolute
term for case b, whose optimum fits both observations exactly: chi2 0).

Cases: (a) the synthetic mouse study of ``bench_calibration.py`` (3 free parameters), (b) the
bundled calibration ``fits/griesinger2012.toml`` (the one config that PEtab v1 expresses: no
censored values, no age axis; 1 free parameter), (c) synthetic mouse data from three studies
(cyclophosphamide + busulfan with intraovarian MSCs; cyclophosphamide with intravenous and
intraovarian exosomes; busulfan with intravenous MSCs; 8 arms, AMH and FSH) with 7 free
parameters, none of which moves the healthy steady state that the export fixes per condition.

AMICI and pyPESTO are optional (``pip install poi_ode[amici]``, best in a separate
environment); without them this script says so and exits 0. CI never runs it.

    python benchmarks/bench_vs_amici.py [--repeats 3] [--large-repeats 1] [--cases a,b,c]
                                        [--json benchmarks/bench_vs_amici.json [--update]] [--workdir DIR]
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
STARTS = 20
CHI2_STOP = 1.5 * 3.841458820694124  # poi_ode's profile steps stop past this rise (profiles.py)
TOLERANCE = 1e-3  # relative agreement of the two optima (chi2)
ABSOLUTE = 1e-6  # ... or absolute, for a perfect fit (chi2 0: case b)
JACOBIANS = ("fd", "analytic")
VARIANTS = {  # (jacobian, executor) of po.fit timed per task
    "single fit": [("fd", "serial"), ("analytic", "serial")],
    "multistart": [("fd", "processes"), ("analytic", "processes"), ("analytic", "serial")],
    "profiles": [("analytic", "serial"), ("analytic", "processes")],  # profile steps use differences either way
}
LARGE_VARIANTS = {  # case (c): a 20-start fd multistart alone takes about 10 minutes here (its fd fit is 2x analytic)
    "single fit": [("fd", "serial"), ("analytic", "serial")],
    "multistart": [("analytic", "processes")],
    "profiles": [("analytic", "processes")],
}


def reference_tools() -> str | None:
    """None when amici, pypesto and petab import, else what is missing."""
    try:
        import amici  # noqa: F401
        import petab  # noqa: F401
        import pypesto  # noqa: F401
        import pypesto.petab  # noqa: F401
    except ImportError as exc:
        return str(exc)
    return None


# ------------------------------------------------------------------------------------ cases
def case_mouse() -> dict:
    sys.path.insert(0, str(HERE))
    from bench_calibration import mouse_case

    case = mouse_case()
    case["key"] = "a"
    case["options"] = {}
    return case


def case_bundled() -> dict:
    sys.path.insert(0, str(HERE))
    from bench_calibration import FITS, config_case

    case = config_case(FITS / "griesinger2012.toml", profiles=False)
    kw = case["kwargs"]
    if kw["priors"] or kw["per_study"] or kw["scales"]:
        raise SystemExit(f"{case['name']}: priors, per-study parameters and scales are not exported to PEtab")
    case["key"] = "b"
    case["options"] = {k: kw[k] for k in ("error_model", "sigma", "regimens", "initial")}
    return case


LARGE_FREE = ["s_M", "p_protect", "kill_cyclophosphamide", "kill_busulfan", "s_X", "damage_cyclophosphamide",
              "t_half_repair"]


def case_large() -> dict:
    import pandas as pd

    import poi_ode as po
    from poi_ode.data import Dataset
    from poi_ode.data.synthetic import synthetic_dataset

    model = po.load_model("mouse")
    cy, bu = "0:cyclophosphamide:120:mg/kg:intraperitoneal", "0:busulfan:30:mg/kg:intraperitoneal"
    truth = {"s_M": 1e-6, "p_protect": 0.7, "s_X": 0.05, "t_half_repair": 20.0}
    studies = [
        ("STUDY_A", {"ctx": f"{cy}; {bu}", "msc1": f"{cy}; {bu}; 14:msc:1e6:cells:intraovarian",
                     "msc4": f"{cy}; {bu}; 14:msc:4e6:cells:intraovarian"}, [7, 14, 21, 28, 42, 56]),
        ("STUDY_B", {"ctx": cy, "exo_iv": f"{cy}; 7:exosome:100:ug:intravenous",
                     "exo_ov": f"{cy}; 7:exosome:20:ug:intraovarian"}, [7, 14, 28, 42]),
        ("STUDY_C", {"ctx": bu, "msc_iv": f"{bu}; 10:msc:2e6:cells:intravenous"}, [10, 21, 35, 60]),
    ]
    frames = [synthetic_dataset(model, arms, times, params=truth, seed=k + 1, study_id=study).frame
              for k, (study, arms, times) in enumerate(studies)]
    frame = pd.concat(frames, ignore_index=True)
    frame["row"] = np.arange(2, len(frame) + 2)
    data = Dataset(frame, "synthetic mouse, three studies", {})
    return {"key": "c", "name": "synthetic mouse, 3 studies",
            "description": f"mouse, 3 studies, 8 arms, {len(data)} observations, free {', '.join(LARGE_FREE)}",
            "model": model, "data": data, "free": LARGE_FREE, "kwargs": {}, "options": {}, "variants": LARGE_VARIANTS}


CASES = {"a": case_mouse, "b": case_bundled, "c": case_large}


# ---------------------------------------------------------------------------------- helpers
def shared_starts(problem: Any, seed: int) -> np.ndarray:
    """The nominal vector and STARTS - 1 Latin-hypercube points in the bounds (internal scale),
    drawn as ``po.fit(multistart=STARTS - 1, seed=seed)`` draws them."""
    from scipy.stats import qmc

    lo, hi = problem.bounds()
    sampler = qmc.LatinHypercube(d=len(lo), seed=seed)
    return np.vstack([problem.initial_vector(), qmc.scale(sampler.random(STARTS - 1), lo, hi)])


def to_petab_scale(problem: Any, model: Any, theta: np.ndarray) -> np.ndarray:
    """poi_ode internal vector -> PEtab free vector (values in the model's units; log10 or lin)."""
    from poi_ode.units import conversion_factor

    out = []
    for f, t in zip(problem.free, theta):
        if f.scope != "shared":
            raise SystemExit(f"{f.key}: only shared parameters are exported to PEtab")
        factor = conversion_factor(problem.base[f.name].unit, model.parameter(f.name).unit)
        value = f.to_value(t) * factor
        out.append(math.log10(value) if f.scale == "log" else value)
    return np.array(out)


def normaliser(petab_problem: Any) -> float:
    """C in chi2 = 2 J - C: the constant terms of the PEtab negative log-posterior, times 2."""
    m = petab_problem.measurement_df
    obs = petab_problem.observable_df
    sigma = m["noiseParameters"].to_numpy(float)
    value = m["measurement"].to_numpy(float)
    log = obs.loc[m["observableId"], "observableTransformation"].fillna("lin").to_numpy() == "log"
    c = float(np.log(2 * np.pi * sigma**2 * np.where(log, value**2, 1.0)).sum())
    par = petab_problem.parameter_df
    if "objectivePriorType" in par.columns:
        for _, row in par[par["estimate"] == 1].iterrows():
            if isinstance(row["objectivePriorType"], str) and row["objectivePriorType"]:
                if row["objectivePriorType"] != "parameterScaleNormal":
                    raise SystemExit(f"{row.name}: prior {row['objectivePriorType']} not handled")
                sd = float(str(row["objectivePriorParameters"]).split(";")[1])
                c += math.log(2 * math.pi * sd**2)
    return c


def median(values: list[float]) -> float:
    return float(statistics.median(values))


# ------------------------------------------------------------------------------------ tools
class PoiOde:
    """The three tasks through ``po.fit``."""

    def __init__(self, case: dict, seed: int):
        self.case, self.seed = case, seed

    def _fit(self, jacobian: str, **kw: Any) -> Any:
        import poi_ode as po

        c = self.case
        return po.fit(c["model"], c["data"], c["free"], jacobian=jacobian, method="least_squares", seed=self.seed,
                      **c["options"], **kw)

    def single(self, jacobian: str, executor: str) -> tuple[float, float]:
        t = time.perf_counter()
        result = self._fit(jacobian)
        return time.perf_counter() - t, result.chi2

    def multistart(self, jacobian: str, executor: str, starts: np.ndarray) -> tuple[float, float]:
        t = time.perf_counter()
        result = self._fit(jacobian, multistart=STARTS - 1, executor=executor)
        elapsed = time.perf_counter() - t
        used = np.array([r["start"] for r in result.multistart])
        if used.shape != starts.shape or not np.allclose(used, starts, rtol=0, atol=1e-12):
            raise SystemExit("po.fit's multistart did not use the shared starts")
        return elapsed, result.chi2

    def profiles(self, jacobian: str, executor: str) -> tuple[float, float, int]:
        t = time.perf_counter()
        result = self._fit(jacobian, profiles=True, executor=executor)
        elapsed = time.perf_counter() - t
        points = sum(len(p["values"]) - 1 for p in result.profiles.values())
        return elapsed, result.chi2, points


class Pypesto:
    """The three tasks through pyPESTO on the AMICI objective of the exported PEtab problem."""

    def __init__(self, yaml: Path, build: Path, name: str, parallel: str = "threads"):
        import pypesto.petab

        self.parallel = parallel

        t = time.perf_counter()
        self.importer = pypesto.petab.PetabImporter.from_yaml(str(yaml), model_name=name, output_folder=str(build))
        self.problem = self.importer.create_problem(force_compile=True, verbose=False)
        self.compile_s = time.perf_counter() - t
        self.constant = normaliser(self.importer.petab_problem)
        n = len(self.problem.x_free_indices)
        self.free_names = [self.problem.x_names[i] for i in self.problem.x_free_indices]
        self.n_free = n

    def chi2(self, fval: float) -> float:
        return 2.0 * fval - self.constant

    def fval(self, x: np.ndarray) -> float:
        return float(self.problem.objective(np.asarray(x, float)))

    def engine(self) -> Any:
        """The engine of multistart and profiles: threads (``MultiThreadEngine``) on every core, or
        ``SingleCoreEngine``. (``MultiProcessEngine`` needs an AMICI built with HDF5 to pickle the
        objective; the PyPI wheel has none.)"""
        import pypesto.engine

        if self.parallel == "threads":
            return pypesto.engine.MultiThreadEngine(n_threads=os.cpu_count())
        return pypesto.engine.SingleCoreEngine()

    def _optimizer(self) -> Any:
        import pypesto.optimize

        return pypesto.optimize.ScipyOptimizer(method="ls_trf")

    def _minimize(self, starts: np.ndarray, engine: Any) -> Any:
        import pypesto.optimize

        self.problem.set_x_guesses(np.array([self.problem.get_full_vector(x) for x in np.atleast_2d(starts)]))
        try:
            return pypesto.optimize.minimize(self.problem, self._optimizer(), n_starts=len(np.atleast_2d(starts)),
                                             engine=engine, progress_bar=False)
        finally:
            self.problem.set_x_guesses(np.empty((0, self.problem.dim_full)))

    def single(self, x0: np.ndarray) -> tuple[float, float]:
        import pypesto.engine

        t = time.perf_counter()
        result = self._minimize(x0, pypesto.engine.SingleCoreEngine())
        return time.perf_counter() - t, self.chi2(result.optimize_result[0].fval)

    def multistart(self, starts: np.ndarray) -> tuple[float, float]:
        t = time.perf_counter()
        result = self._minimize(starts, self.engine())
        elapsed = time.perf_counter() - t
        return elapsed, self.chi2(result.optimize_result[0].fval)

    def profiles(self, x0: np.ndarray) -> tuple[float, float, int]:
        import pypesto.engine
        import pypesto.profile

        t = time.perf_counter()
        result = self._minimize(x0, pypesto.engine.SingleCoreEngine())
        options = pypesto.profile.ProfileOptions(ratio_min=math.exp(-CHI2_STOP / 2))
        result = pypesto.profile.parameter_profile(
            self.problem, result, self._optimizer(), engine=self.engine(),
            profile_options=options, progress_bar=False)
        elapsed = time.perf_counter() - t
        points = sum(len(p.fval_path) - 1 for p in result.profile_result.list[-1] if p is not None)
        return elapsed, self.chi2(result.optimize_result[0].fval), points


# --------------------------------------------------------------------------------- one case
def run_case(case: dict, repeats: int, seed: int, workdir: Path) -> dict:
    from poi_ode.export import to_petab
    from poi_ode.fitting.problem import FitProblem

    model, data, free, options = case["model"], case["data"], case["free"], case["options"]
    _ = model.compiled  # poi_ode's generated code built (and cached) before any timing
    folder = workdir / f"case_{case['key']}"
    yaml = to_petab(model, data, folder / "petab", free, **options)
    problem = FitProblem.build(model, data, free, **options)
    starts = shared_starts(problem, seed)
    x_starts = np.array([to_petab_scale(problem, model, s) for s in starts])

    ref = Pypesto(yaml, folder / "amici", f"poi_bench_{case['key']}")
    keys = [f.key for f in problem.free]
    if ref.free_names != keys:
        raise SystemExit(f"free parameters differ: PEtab {ref.free_names}, poi_ode {keys}")
    nominal = ref.importer.petab_problem.x_nominal_free_scaled
    if not np.allclose(nominal, x_starts[0], rtol=1e-12, atol=1e-12):
        raise SystemExit(f"the nominal vectors differ: PEtab {nominal}, poi_ode {x_starts[0]}")

    # the two objectives on one scale, at three points
    scale = []
    for k in (0, 1, 2):
        res = problem.residuals(starts[k])
        ours, theirs = float(res @ res), ref.chi2(ref.fval(x_starts[k]))
        scale.append({"start": k, "poi_ode_chi2": ours, "pypesto_chi2": theirs,
                      "relative_difference": abs(theirs - ours) / max(abs(ours), 1e-300)})

    runs: dict[str, dict[str, list]] = {}

    def record(key: str, out: tuple) -> None:
        entry = runs.setdefault(key, {"times": [], "chi2": [], "points": []})
        entry["times"].append(out[0])
        entry["chi2"].append(out[1])
        if len(out) > 2:
            entry["points"].append(out[2])

    ours = PoiOde(case, seed)
    tasks = {
        "single fit": (lambda j, e: ours.single(j, e), lambda: ref.single(x_starts[0])),
        "multistart": (lambda j, e: ours.multistart(j, e, starts), lambda: ref.multistart(x_starts)),
        "profiles": (lambda j, e: ours.profiles(j, e), lambda: ref.profiles(x_starts[0])),
    }
    variants_of = {task: [f"{j}/{e}" for j, e in case.get("variants", VARIANTS)[task]] for task in tasks}
    warm: dict[str, float] = {}
    for rep in range(repeats + 1):  # the first round is the warm-up: single fits only (caches, imports)
        for task, (poi, pyp) in tasks.items():
            if rep == 0 and task != "single fit":
                continue
            for variant in variants_of[task]:
                out = poi(*variant.split("/"))
                print(f"    {task}: poi_ode {variant} {out[0]:.2f} s, chi2 {out[1]:.7g}", flush=True)
                if rep:
                    record(f"{task}|poi_ode {variant}", out)
                else:
                    warm[f"{task}|poi_ode {variant}"] = out[0]
            out = pyp()
            print(f"    {task}: pyPESTO+AMICI {out[0]:.2f} s, chi2 {out[1]:.7g}", flush=True)
            if rep:
                record(f"{task}|pyPESTO+AMICI", out)
            else:
                warm[f"{task}|pyPESTO+AMICI"] = out[0]
        print(f"  case {case['key']}: {'warm-up' if rep == 0 else f'repeat {rep}'} done", flush=True)

    table = {}
    for task in tasks:
        ref_key = f"{task}|pyPESTO+AMICI"
        ref_time, ref_chi2 = median(runs[ref_key]["times"]), runs[ref_key]["chi2"][-1]
        variants = {}
        for variant in variants_of[task]:
            r = runs[f"{task}|poi_ode {variant}"]
            chi2 = r["chi2"][-1]
            variants[variant] = {
                "median_s": median(r["times"]), "min_s": min(r["times"]), "max_s": max(r["times"]),
                "warmup_s": warm.get(f"{task}|poi_ode {variant}"), "chi2": chi2,
                "profile_points": r["points"][-1] if r["points"] else None,
                "ratio": median(r["times"]) / ref_time,
                "per_point_ratio": (median(r["times"]) / r["points"][-1]) / (ref_time / runs[ref_key]["points"][-1])
                if r["points"] and r["points"][-1] and runs[ref_key]["points"][-1] else None,
                "same_optimum": abs(ref_chi2 - chi2) <= TOLERANCE * abs(chi2) + ABSOLUTE,
                "relative_difference": abs(ref_chi2 - chi2) / max(abs(chi2), 1e-300),
            }
        best = min(variants, key=lambda v: variants[v]["median_s"])
        r = runs[ref_key]
        table[task] = {
            "poi_ode": variants, "best": best, "ratio": variants[best]["ratio"],
            "pypesto_amici": {"median_s": ref_time, "min_s": min(r["times"]), "max_s": max(r["times"]),
                              "warmup_s": warm.get(ref_key), "chi2": ref_chi2,
                              "profile_points": r["points"][-1] if r["points"] else None},
        }
    return {"case": case["name"], "key": case["key"], "description": case["description"], "repeats": repeats,
            "free": keys, "amici_compile_s": ref.compile_s, "normaliser_C": ref.constant, "scale_check": scale,
            "starts_internal": starts.tolist(), "tasks": table}


def print_report(reports: list[dict]) -> None:
    print()
    print(f"{'case':24s} {'task':11s} {'poi_ode variant':20s} {'median':>8s} {'pyPESTO':>8s} {'ratio':>6s} "
          f"{'chi2 poi_ode':>13s} {'chi2 pyPESTO':>13s} {'rel diff':>8s} same  points")
    for rep in reports:
        for task, t in rep["tasks"].items():
            ref = t["pypesto_amici"]
            for variant, v in t["poi_ode"].items():
                mark = "*" if variant == t["best"] else " "
                points = (f"{v['profile_points']}/{ref['profile_points']} (per point {v['per_point_ratio']:.2f})"
                          if v["per_point_ratio"] is not None else "")
                print(f"({rep['key']}) {rep['case'][:20]:20s} {task:11s} {variant:19s}{mark} {v['median_s']:7.3f}s "
                      f"{ref['median_s']:7.3f}s {v['ratio']:6.2f} {v['chi2']:13.7g} {ref['chi2']:13.7g} "
                      f"{v['relative_difference']:8.1e} {'yes ' if v['same_optimum'] else 'NO  '}  {points}")
        worst = max(s["relative_difference"] for s in rep["scale_check"])
        print(f"    AMICI import + compile {rep['amici_compile_s']:.1f} s (once, not in the ratios); scale check "
              f"(chi2 = 2 J - C, C = {rep['normaliser_C']:.6g}) at 3 points: max relative difference {worst:.1e}")
    rounds = ", ".join(f"{r['key']}: {r['repeats']}" for r in reports)
    print(f"ratio = poi_ode / pyPESTO+AMICI, medians of the alternating repeats ({rounds}) after a warm-up; * the "
          f"fastest poi_ode variant (the table's ratio); points: profile points poi_ode/pyPESTO; {os.cpu_count()} CPUs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds after a warm-up round (default: 3)")
    parser.add_argument("--cases", default="a,b,c", help="comma-separated case keys (default: a,b,c)")
    parser.add_argument("--large-repeats", type=int, default=None,
                        help="timed rounds for case c (default: --repeats; one round takes about 10 minutes here)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shared starts (default: 0)")
    parser.add_argument("--json", default=None, help="write the report as JSON to this path")
    parser.add_argument("--update", action="store_true",
                        help="with --json: replace only the cases run in an existing report, keep the others (each "
                             "case records when and with which command it was measured)")
    parser.add_argument("--workdir", default=None, help="folder for the PEtab files and AMICI builds (default: a "
                                                        "temporary folder, removed after)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    keys = [k.strip() for k in args.cases.split(",") if k.strip()]
    unknown = [k for k in keys if k not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}; choose from {sorted(CASES)}")
    missing = reference_tools()
    if missing:
        print(f"bench_vs_amici: skipped, the reference tools are not installed ({missing}); "
              "pip install 'poi_ode[amici]' (amici, pypesto, petab; AMICI needs swig and a C++ compiler)")
        return 0
    # AMICI finds swig (a pip wheel) next to the interpreter, also in a venv that is not activated
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    # AMICI logs every CVODES warning (at debug level, on its own handlers): formatting them costs time
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")

    import amici
    import petab
    import pypesto
    import scipy

    import poi_ode as po

    earlier: list[dict] = []
    if args.json and args.update and os.path.exists(args.json):
        with open(args.json, encoding="utf-8") as fh:
            earlier = json.load(fh).get("cases", [])

    def write(reports: list[dict]) -> None:  # after every case, so that a long run keeps what it measured
        if not args.json:
            return
        run = {r["key"] for r in reports}
        cases = sorted([c for c in earlier if c["key"] not in run] + reports, key=lambda c: c["key"])
        report = {
            "benchmark": "calibration: poi_ode vs pyPESTO + AMICI on the same PEtab problems", "repeats": args.repeats,
            "starts": STARTS, "seed": args.seed, "tolerance": TOLERANCE, "cases": cases,
            "settings": {
                "poi_ode": "po.fit(method='least_squares'); (jacobian, executor) variants per task: "
                           + "; ".join(f"{t}: {', '.join(f'{j}/{e}' for j, e in v)}" for t, v in VARIANTS.items())
                           + "; the ratio takes the fastest variant",
                "pypesto": "ScipyOptimizer(method='ls_trf'), AMICI forward sensitivities, default tolerances; "
                           "single fit SingleCoreEngine, multistart and profiles "
                           "MultiThreadEngine(n_threads=cpu_count); "
                           f"ProfileOptions(ratio_min=exp(-{CHI2_STOP:.3f}/2))",
            },
            "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "amici": amici.__version__, "pypesto": pypesto.__version__, "petab": petab.__version__,
            "poi_ode": po.__version__, "cpu_count": os.cpu_count(), "machine": platform.machine(),
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_vs_amici_"))
    reports: list[dict] = []
    try:
        for k in keys:
            case = CASES[k]()
            print(f"case {k}: {case['name']}: {case['description']}", flush=True)
            repeats = args.large_repeats if k == "c" and args.large_repeats else args.repeats
            reports.append(run_case(case, repeats, args.seed, workdir))
            reports[-1]["measured"] = {"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                       "command": "python benchmarks/bench_vs_amici.py " + " ".join(sys.argv[1:])}
            write(reports)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(reports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
