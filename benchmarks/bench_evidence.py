"""Wall time of the evidence calibration (issue 12): the therapy fitted to the published pooled effects.

For each therapy (MSCs, MSC-derived vesicles) and its default mechanism (the one ``fits/evidence_*_rodent.toml``
name), times, in this process:

1. building the objective (reading the bundled pooled effects and designs, building the species models;
   the compiled models come from the cache after the first repeat);
2. one calibration without profiles (``poi_ode.mbma.calibrate``);
3. the calibration with the profiles of its therapy parameters (those the fit configs profile), the profiles on
   ``--executor`` (default ``processes``: a process pool on every core; ``serial`` as the configs run them);
4. the whole ``poi-ode evidence`` run once (both therapies, every mechanism, reverse fits, bands).

Medians over ``--repeats`` runs (the machines are shared and noisy). The target of issue 12 is a
calibration under 2 minutes on two cores: the configs' calibrations with profiles, both therapies together.

    python benchmarks/bench_evidence.py [--repeats 3] [--skip-command] [--json benchmarks/bench_evidence.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 120.0


def _config(therapy: str) -> dict:
    from poi_ode.parameters import read_toml

    return read_toml(ROOT / "fits" / f"evidence_{therapy}_rodent.toml", "fit config")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-command", action="store_true", help="do not time the whole poi-ode evidence run")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--executor", default="processes", choices=["processes", "serial"],
                        help="where the profiles run (default: a process pool on every core)")
    args = parser.parse_args()

    from poi_ode.mbma import calibrate, evidence_objective
    from poi_ode.mbma.report import run_evidence

    rows = []
    for therapy in ("msc", "exosome"):
        config = _config(therapy)
        times: dict[str, list[float]] = {"objective": [], "calibration": [], "with profiles": []}
        evaluations = 0
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            objective, _ = evidence_objective(therapy, config["mechanism"])
            times["objective"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = calibrate(objective, config["free"])
            times["calibration"].append(time.perf_counter() - t0)
            evaluations = result.n_evaluations
            t0 = time.perf_counter()
            calibrate(objective, config["free"], profiles=config["profiles"], executor=args.executor)
            times["with profiles"].append(time.perf_counter() - t0)
        row = dict(therapy=therapy, mechanism=config["mechanism"], targets=len(objective.targets),
                   fitted=len(objective.fitted), designs=len(objective.designs()), evaluations=evaluations,
                   **{f"{k} median s": statistics.median(v) for k, v in times.items()})
        rows.append(row)
        print(f"{therapy:8s} {config['mechanism']:13s} {row['designs']:3d} designs, {row['fitted']:2d} fitted rows: "
              f"objective {row['objective median s']:.2f} s, calibration {row['calibration median s']:.2f} s "
              f"({evaluations} evaluations), with profiles {row['with profiles median s']:.2f} s")
    total = sum(r["with profiles median s"] for r in rows)
    print(f"both calibrations with profiles: {total:.1f} s (target {TARGET_S:.0f} s): "
          f"{'OK' if total < TARGET_S else 'ABOVE TARGET'}")
    command = None
    if not args.skip_command:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            run_evidence(tmp)
            command = time.perf_counter() - t0
        print(f"poi-ode evidence (every mechanism, reverse fits, bands): {command:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(dict(rows=rows, both_with_profiles_s=total, target_s=TARGET_S,
                                             evidence_command_s=command, cores=os.cpu_count(),
                                             python=platform.python_version(), repeats=args.repeats,
                                             executor=args.executor), indent=1))


if __name__ == "__main__":
    main()
