"""Peak resident memory of the main job, and memory growth across repeated fits and predictions.

1. The main job: ``poi-ode run --out TMP --quiet`` in a subprocess from the repository root
   (it reads fits/*.toml), output to a temporary folder. The peak resident set size of each
   run comes from os.wait4 (ru_maxrss of that child: the largest single process of its tree,
   which is the whole job when it runs serially, as it does with the compiled engine), with
   its wall time; resource.getrusage(RUSAGE_CHILDREN) gives the same maximum over all runs as
   a cross-check. For scale, the peak of a bare ``import poi_ode`` plus building the human
   model is measured the same way.
2. No growth across repeats, in this process: the same calibration run N times (po.fit of the
   mouse model to a seeded synthetic dataset, finite-difference and analytic Jacobians; and
   the bundled fits/griesinger2012.toml through run_config, outputs written to a temporary
   folder), then repeated small po.simulate calls (new parameter values every call) and small
   po.dose_response calls (new seed every call). After each repeat: gc.collect(), then the
   resident set (/proc/self/statm, resident pages x page size) and tracemalloc's current and
   peak traced memory. The growth per repeat is the slope of a least-squares line over the
   second half of the repeats (after warm-up and bounded caches fill); growth above
   --threshold MB per repeat (default 1) is flagged GROWTH. The entries of the package's
   module-level caches are listed after each workload, with their bounds.

    python benchmarks/bench_memory.py [--fits 20] [--main-repeats 3] [--quick] [--json /tmp/bench_memory.json]
"""
from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy

import poi_ode as po

ROOT = Path(__file__).resolve().parent.parent  # the repository root: the main job reads fits/*.toml there
MB = 1024.0 * 1024.0
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
INDUCTION = "0:cyclophosphamide:120:mg/kg:intraperitoneal; 0:busulfan:30:mg/kg:intraperitoneal"
ARMS = {"CTX+BUS": INDUCTION, "MSC 1e6": INDUCTION + "; 14:msc:1e6:cells:intraovarian",
        "MSC 4e6": INDUCTION + "; 14:msc:4e6:cells:intraovarian"}
TIMES = [7, 14, 21, 28, 42, 56]
TRUTH = {"s_M": 1.0e-6, "p_protect": 0.7}
CACHES = [  # module, attribute, bound (as written in the package)
    ("poi_ode.simulate", "_STEADY_CACHE", "256 entries (oldest dropped)"),
    ("poi_ode.simulate", "_HEALTHY_CACHE", "512 entries (oldest dropped)"),
    ("poi_ode.simulate", "_NH_PARAMETERS", "none (one per model structure)"),
    ("poi_ode.dosing", "_FACTORS", "cleared at 4096"),
    ("poi_ode.compile", "_MEMORY", "none (one per model structure)"),
    ("poi_ode.native", "_MEMORY", "none (one per model structure; loaded library)"),
    ("poi_ode.native", "_UNAVAILABLE", "none (one per model structure)"),
    ("poi_ode.sensitivity.local", "_OUTPUT_JACOBIANS", "none (one per model structure)"),
    ("poi_ode.predict", "_MODELS", "none (one per species and modules)"),
    ("poi_ode.units", "_parse", "lru 512"),
    ("poi_ode.units", "conversion_factor", "lru 1024"),
]


def versions() -> dict:
    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "poi_ode": getattr(po, "__version__", "?"), "cpus": os.cpu_count(), "machine": platform.machine(),
            "platform": platform.platform()}


def stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "repeats": len(values),
            "values": list(values)}


def maxrss_mb(ru_maxrss: int) -> float:
    """ru_maxrss in MB (kB on Linux, bytes on macOS)."""
    return ru_maxrss / MB if sys.platform == "darwin" else ru_maxrss / 1024.0


def rss_mb() -> float:
    """Current resident set of this process (MB)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * PAGE / MB
    except OSError:  # not Linux: the peak is the best there is
        return maxrss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def cache_sizes() -> dict[str, int | None]:
    out = {}
    for module, name, _ in CACHES:
        obj = getattr(importlib.import_module(module), name, None)
        if hasattr(obj, "cache_info"):
            out[f"{module}.{name}"] = obj.cache_info().currsize
        else:
            out[f"{module}.{name}"] = len(obj) if obj is not None else None
    return out


# ----------------------------------------------------------------------------- part 1: subprocesses
def poi_ode_command() -> list[str]:
    """The poi-ode console script of this interpreter (not a version manager's shim), else the module."""
    script = Path(sys.executable).parent / "poi-ode"
    if script.exists():
        return [str(script)]
    found = shutil.which("poi-ode")
    return [found] if found else [sys.executable, "-m", "poi_ode.cli"]


def run_child(cmd: list[str]) -> dict:
    """Wall time and peak RSS of one child process (its own rusage, from os.wait4)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}")
    return {"wall_s": wall, "peak_rss_mb": maxrss_mb(usage.ru_maxrss), "user_s": usage.ru_utime,
            "sys_s": usage.ru_stime}


def main_job(repeats: int, draws: int | None) -> dict:
    base = [sys.executable, "-c", "import poi_ode; poi_ode.load_model('human').compiled"]
    baseline = [run_child(base)]
    runs = []
    for k in range(repeats):
        with tempfile.TemporaryDirectory(prefix="poi_ode_bench_") as out:
            cmd = [*poi_ode_command(), "run", "--out", out, "--quiet"] + (["--draws", str(draws)] if draws else [])
            runs.append(run_child(cmd))
        print(f"  main job run {k + 1}/{repeats}: {runs[-1]['wall_s']:.1f} s, peak {runs[-1]['peak_rss_mb']:.0f} MB",
              flush=True)
    return {
        "command": "poi-ode run --out TMP --quiet" + (f" --draws {draws}" if draws else ""),
        "draws": draws or "default",
        "peak_rss_mb": stats([r["peak_rss_mb"] for r in runs]), "wall_s": stats([r["wall_s"] for r in runs]),
        "runs": runs, "import_and_model_peak_rss_mb": baseline[0]["peak_rss_mb"],
        "rusage_children_max_mb": maxrss_mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),
    }


# ----------------------------------------------------------------------------- part 2: in-process loops
def slope(values: list[float]) -> float:
    """Least-squares growth per repeat over the second half of the repeats."""
    half = values[len(values) // 2:]
    if len(half) < 2:
        return float("nan")
    return float(np.polyfit(np.arange(len(half)), np.asarray(half, float), 1)[0])


def loop(name: str, step, n: int, threshold: float, trace: bool) -> dict:
    """Run ``step(k)`` n times; RSS and traced memory after each (after gc)."""
    rss, cur, peak, walls = [], [], [], []
    gc.collect()
    rss0 = rss_mb()
    before = cache_sizes()
    if trace:
        tracemalloc.start()
    for k in range(n):
        if trace:
            tracemalloc.reset_peak()
        t0 = time.perf_counter()
        step(k)
        walls.append(time.perf_counter() - t0)
        gc.collect()
        rss.append(rss_mb())
        if trace:
            c, p = tracemalloc.get_traced_memory()
            cur.append(c / MB)
            peak.append(p / MB)
    if trace:
        tracemalloc.stop()
    out = {
        "workload": name, "repeats": n, "traced": trace, "rss_start_mb": rss0, "rss_mb": rss,
        "rss_slope_mb_per_repeat": slope(rss),
        "rss_total_growth_mb": rss[-1] - rss0, "rss_growth_after_first_mb": rss[-1] - rss[0],
        "wall_s": stats(walls), "caches_before": before, "caches_after": cache_sizes(),
    }
    if trace:
        out.update({"traced_current_mb": cur, "traced_peak_mb": peak, "traced_slope_mb_per_repeat": slope(cur),
                    "traced_growth_after_first_mb": cur[-1] - cur[0], "traced_peak_max_mb": max(peak)})
    growth = [out["rss_slope_mb_per_repeat"]] + ([out["traced_slope_mb_per_repeat"]] if trace else [])
    out["flag"] = "GROWTH" if any(g > threshold for g in growth) else "ok"
    print(f"  {name}: {n} repeats, {statistics.median(walls):.2f} s each, RSS slope "
          f"{out['rss_slope_mb_per_repeat']:+.3f} MB/repeat -> {out['flag']}", flush=True)
    return out


def workloads(n_fits: int, n_analytic: int, n_config: int, n_calls: int,
              out_dir: Path) -> list[tuple[str, object, int, bool]]:
    """(name, step, repeats, traced). tracemalloc slows the analytic-Jacobian fit >50x (many small
    allocations in the sensitivity equations) and run_config ~3x (plots): those two are measured by RSS."""
    from poi_ode.data.synthetic import synthetic_dataset
    from poi_ode.fitting.config import run_config
    from poi_ode.predict.uncertainty import draw_parameters

    mouse = po.load_model("mouse")
    human = po.load_model("human")
    data = synthetic_dataset(mouse, ARMS, TIMES, params=TRUTH, seed=11)
    config = ROOT / "fits" / "griesinger2012.toml"
    regimen = po.Regimen([po.Dose(0, "msc", 1e7, "cells", "intraovarian"),
                          po.Dose(90, "msc", 1e7, "cells", "intraovarian")])
    times = np.linspace(0, 365, 50)
    base = human.parameter_set
    sims_per = 10
    draws = draw_parameters(base, "population", sims_per * n_calls, 12345)
    sets = [base.with_values(v) for v in draws]  # new parameter values on every call

    def fit_fd(k):
        po.fit(mouse, data, free=list(TRUTH))

    def fit_analytic(k):
        po.fit(mouse, data, free=list(TRUTH), jacobian="analytic")

    def fit_config(k):
        run_config(config, out_dir / "griesinger2012")

    def simulate(k):
        for pset in sets[k * sims_per:(k + 1) * sims_per]:
            po.simulate(human, regimen, times=times, params=pset, initial="poi")

    def dose_response(k):
        po.dose_response(human, "msc", np.geomspace(1e5, 1e8, 5), route="intraovarian", endpoints=["AMH@90", "FSH@90"],
                         initial="poi", draws=10, uncertainty="population", seed=100 + k, executor="serial")

    return [
        ("po.fit mouse synthetic, fd Jacobian", fit_fd, n_fits, True),
        ("po.fit mouse synthetic, analytic Jacobian", fit_analytic, n_analytic, False),
        ("run_config fits/griesinger2012.toml (+ outputs)", fit_config, n_config, False),
        (f"po.simulate x{sims_per} human, new parameters", simulate, n_calls, True),
        ("po.dose_response 5 doses x 11 sets, new seed", dose_response, n_calls, True),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=None,
                        help="repeats of the fd-Jacobian fit (default 20; 4 with --quick)")
    parser.add_argument("--config-fits", type=int, default=None,
                        help="repeats of run_config fits/griesinger2012.toml (default: --fits; 0 with --quick)")
    parser.add_argument("--analytic-fits", type=int, default=None,
                        help="repeats of the analytic-Jacobian fit, measured by RSS only (default 6; 0 with --quick)")
    parser.add_argument("--calls", type=int, default=None, help="repeats of the simulate / dose-response workloads "
                        "(default 20; 4 with --quick)")
    parser.add_argument("--main-repeats", "--repeats", dest="main_repeats", type=int, default=None,
                        help="runs of the main job (default 3; 1 with --quick)")
    parser.add_argument("--main-draws", type=int, default=None,
                        help="--draws of the main job (default: its own default; 2 with --quick)")
    parser.add_argument("--no-main-job", action="store_true", help="skip part 1")
    parser.add_argument("--threshold", type=float, default=1.0, help="MB per repeat flagged as growth (default 1)")
    parser.add_argument("--no-tracemalloc", action="store_true", help="RSS only (tracemalloc slows the loops)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for development")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    n_fits = args.fits or (4 if args.quick else 20)
    n_calls = args.calls or (4 if args.quick else 20)
    n_analytic = args.analytic_fits if args.analytic_fits is not None else (0 if args.quick else 6)
    n_config = args.config_fits if args.config_fits is not None else (0 if args.quick else n_fits)
    main_repeats = args.main_repeats or (1 if args.quick else 3)
    main_draws = args.main_draws or (2 if args.quick else None)
    trace = not args.no_tracemalloc
    tag = "  [QUICK]" if args.quick else ""

    job = None
    if not args.no_main_job:
        print(f"main job: {main_repeats} run(s) from {ROOT.name}/ ...", flush=True)
        job = main_job(main_repeats, main_draws)

    print("in-process loops ...", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="poi_ode_bench_") as tmp:
        for name, step, n, traced in workloads(n_fits, n_analytic, n_config, n_calls, Path(tmp)):
            if n > 0:
                results.append(loop(name, step, n, args.threshold, trace and traced))

    print()
    if job:
        print(f"Peak resident memory of the main job ({job['command']}; {main_repeats} run(s)){tag}")
        p, w = job["peak_rss_mb"], job["wall_s"]
        print(f"  peak RSS: median {p['median']:.1f} MB (min {p['min']:.1f}, max {p['max']:.1f}); "
              f"wall: median {w['median']:.1f} s (min {w['min']:.1f}, max {w['max']:.1f})")
        print(f"  for scale: import poi_ode + human model: {job['import_and_model_peak_rss_mb']:.1f} MB; "
              f"RUSAGE_CHILDREN max over all children: {job['rusage_children_max_mb']:.1f} MB")
        print()
    print(f"Memory across repeats (after gc; slope = least squares over the second half; flag above "
          f"{args.threshold:g} MB/repeat){tag}")
    head = (f"{'workload':48s} {'n':>3s} {'s/rep':>6s} {'RSS start':>9s} {'RSS end':>8s} {'1st rep':>8s} "
            f"{'after 1st':>9s} {'slope MB/rep':>12s} {'traced slope':>12s} {'traced peak':>11s} flag")
    print(head)
    print("-" * len(head))
    for r in results:
        ts = f"{r['traced_slope_mb_per_repeat']:+12.4f}" if r['traced'] else f"{'-':>12s}"
        tp = f"{r['traced_peak_max_mb']:11.1f}" if r['traced'] else f"{'-':>11s}"
        print(f"{r['workload']:48s} {r['repeats']:3d} {r['wall_s']['median']:6.2f} {r['rss_start_mb']:9.1f} "
              f"{r['rss_mb'][-1]:8.1f} {r['rss_mb'][0] - r['rss_start_mb']:+8.2f} "
              f"{r['rss_growth_after_first_mb']:+9.2f} "
              f"{r['rss_slope_mb_per_repeat']:+12.4f} {ts} {tp} {r['flag']}")
    print("RSS in MB (1st rep: growth during the first repeat, imports and caches; after 1st: last - first);")
    print("traced = tracemalloc, Python and NumPy allocations: slope in MB/repeat and the largest per-repeat peak;"
          " '-' = RSS only. RSS includes tracemalloc's own records while it runs.")
    print()
    print("Module-level caches (entries) after each workload")
    names = [f"{m}.{a}" for m, a, _ in CACHES]
    print(f"{'cache':44s} {'bound':48s} " + " ".join(f"{k + 1:>5d}" for k in range(len(results))))
    for (module, attr, bound), key in zip(CACHES, names):
        cells = " ".join(f"{r['caches_after'][key] if r['caches_after'][key] is not None else '-':>5}" for r in results)
        print(f"{key:44s} {bound:48s} {cells}")
    print("columns: " + "; ".join(f"{k + 1} = {r['workload']}" for k, r in enumerate(results)))
    flagged = [r["workload"] for r in results if r["flag"] != "ok"]
    print(f"growth flagged: {', '.join(flagged) if flagged else 'none'}")

    if args.json:
        report = {"quick": args.quick, "threshold_mb_per_repeat": args.threshold, "tracemalloc": trace,
                  "main_job": job, "loops": results, "cache_bounds": {f"{m}.{a}": b for m, a, b in CACHES},
                  **versions()}
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
