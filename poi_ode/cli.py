"""The ``poi-ode`` command.

Subcommands: ``run`` (the main job; until prediction lands, a demonstration simulation),
``simulate`` (one regimen, CSV and PNG out), ``fit`` (a dataset CSV or a fit config),
``gallery`` (the fit gallery page), ``datasets`` (list or show bundled data) and
``equations`` (the generated equation page).
Bad arguments or files end with exit code 2 and one line on stderr.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from .errors import PoiOdeError

__all__ = ["main"]


def _dose(text: str):
    """Parse ``DAY:AGENT:AMOUNT:UNIT[:ROUTE]`` into a Dose."""
    from .dosing import Dose

    parts = text.split(":")
    if len(parts) not in (4, 5):
        raise argparse.ArgumentTypeError(
            f"dose {text!r}: expected DAY:AGENT:AMOUNT:UNIT[:ROUTE], e.g. 14:msc:1e6:cells:intravenous"
        )
    try:
        day, amount = float(parts[0]), float(parts[2])
    except ValueError:
        raise argparse.ArgumentTypeError(f"dose {text!r}: day and amount must be numbers") from None
    try:
        return Dose(day, parts[1], amount, parts[3], parts[4] if len(parts) == 5 else None)
    except PoiOdeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="poi-ode",
        description="ODE models of premature ovarian insufficiency treated with MSCs and exosomes.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the main job: calibrate on bundled data, predict dose-response, write a report")
    run.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")
    run.add_argument("--fits", type=Path, default=Path("fits"), help="folder of calibration configs (default: fits)")
    run.add_argument("--draws", type=int, default=40, help="parameter draws per band (default: 40)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--serial", action="store_true", help="no process pool")
    run.add_argument("--quiet", action="store_true", help="no progress bars")

    demo = sub.add_parser("demo", help="demonstration simulations with the default parameters")
    demo.add_argument("--out", type=Path, default=Path("results/demo"), help="output folder")

    dr = sub.add_parser("dose-response", help="endpoints over a dose grid, with a labelled uncertainty band")
    dr.add_argument("--species", default="human", help="parameter set (ignored with --fit)")
    dr.add_argument("--fit", type=Path, action="append", default=[], help="a fit.json whose fitted values to use (repeatable)")
    dr.add_argument("--agent", default="msc")
    dr.add_argument("--doses", required=True, help="comma list (1e5,1e6) or a log grid FIRST:LAST:N (1e5:1e7:20)")
    dr.add_argument("--unit", default=None, help="dose unit (default: the agent's)")
    dr.add_argument("--route", default=None)
    dr.add_argument("--schedule", default="0", help="comma-separated administration days (default: 0)")
    dr.add_argument("--background", default="", help="common doses, DAY:AGENT:AMOUNT:UNIT[:ROUTE];...")
    dr.add_argument("--endpoints", default="AMH@90,FSH@90", help="comma-separated endpoints")
    dr.add_argument("--initial", choices=["healthy", "poi"], default="healthy")
    dr.add_argument("--age", type=_positive, default=None)
    dr.add_argument("--draws", type=int, default=0)
    dr.add_argument("--uncertainty", choices=["fit", "population", "assumptions", "none"], default=None)
    dr.add_argument("--seed", type=int, default=0)
    dr.add_argument("--serial", action="store_true", help="no process pool")
    dr.add_argument("--quiet", action="store_true", help="no progress bar")
    dr.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")

    sim = sub.add_parser("simulate", help="simulate one regimen and write CSV and PNG")
    sim.add_argument("--species", default="human", help="parameter set: human or mouse (default: human)")
    sim.add_argument("--dose", type=_dose, action="append", default=[], metavar="DAY:AGENT:AMOUNT:UNIT[:ROUTE]",
                     help="a dose; repeat the option for several")
    sim.add_argument("--t-end", type=_positive, default=180.0, help="end day (default: 180)")
    sim.add_argument("--initial", choices=["healthy", "poi"], default="healthy", help="initial state")
    sim.add_argument("--age", type=_positive, default=None, help="age in years (default: the set's reference age)")
    sim.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")

    fit = sub.add_parser("fit", help="calibrate to a dataset CSV or run a fit config (fits/NAME.toml)")
    fit.add_argument("source", type=Path, help="a dataset CSV in the documented format, or a fit config TOML")
    fit.add_argument("--species", default=None, help="parameter set for a CSV (default: the data's species)")
    fit.add_argument("--free", default=None, help="comma-separated parameters to estimate (default: by agents)")
    fit.add_argument("--per-study", default="", help="comma-separated parameters estimated per study")
    fit.add_argument("--error-model", choices=["lognormal", "proportional", "additive"], default="lognormal")
    fit.add_argument("--sigma", type=_positive, default=0.3, help="assumed residual scale where data give no SD/SEM")
    fit.add_argument("--method", choices=["least_squares", "leastsq", "differential_evolution"], default="least_squares")
    fit.add_argument("--multistart", type=int, default=0, help="extra Latin-hypercube starts")
    fit.add_argument("--profile", action="store_true", help="profile likelihood of every free parameter")
    fit.add_argument("--mcmc-steps", type=int, default=0, help="emcee steps (0: none)")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--out", type=Path, default=None, help="output folder (default: results/, or fits/NAME/ for a config)")

    gal = sub.add_parser("gallery", help="write the fit gallery page from fits/*/fit.json")
    gal.add_argument("--fits", type=Path, default=Path("fits"), help="folder of fit outputs (default: fits)")
    gal.add_argument("--out", type=Path, default=Path("docs/fits.md"), help="page to write (default: docs/fits.md)")

    data = sub.add_parser("datasets", help="list bundled datasets, or show one")
    data.add_argument("name", nargs="?", default=None, help="a bundled dataset to show")

    ver = sub.add_parser("verify", help="cross-check against libRoadRunner; write the verification page")
    ver.add_argument("--out", type=Path, default=Path("docs/verification.md"))

    eq = sub.add_parser("equations", help="write the generated equation page (Markdown)")
    eq.add_argument("--out", type=Path, default=None, help="file to write (default: standard output)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``poi-ode``; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            from .mainjob import run_main_job

            if args.draws < 0:
                raise PoiOdeError(f"--draws must be >= 0, got {args.draws}")
            written = run_main_job(args.out, args.fits, draws=args.draws, seed=args.seed,
                                   executor="serial" if args.serial else None, progress=not args.quiet)
        elif args.command == "demo":
            from .demo import run_demo

            written = run_demo(args.out)
        elif args.command == "dose-response":
            written = _dose_response(args)
        elif args.command == "simulate":
            written = _simulate(args)
        elif args.command == "fit":
            written = _fit(args)
        elif args.command == "gallery":
            from .fitting.gallery import write_gallery

            written = [write_gallery(args.fits, args.out)]
        elif args.command == "datasets":
            written = _datasets(args.name)
        elif args.command == "verify":
            from .export.verify import verification_markdown

            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(verification_markdown(), encoding="utf-8")
            written = [args.out]
        else:
            written = _equations(args.out)
    except (PoiOdeError, OSError) as exc:
        print(f"poi-ode {args.command}: error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


def _simulate(args) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from . import load_model, simulate
    from .dosing import Regimen

    model = load_model(args.species)
    traj = simulate(model, Regimen(args.dose), t_end=args.t_end, initial=args.initial, age=args.age)
    args.out.mkdir(parents=True, exist_ok=True)
    csv = args.out / "trajectory.csv"
    traj.to_frame().to_csv(csv, index=False)
    png = args.out / "trajectory.png"
    fig = traj.plot(("AMH", "FSH", "E2", "F_prim", "AFC", "Phi"))
    fig.savefig(png, dpi=120)
    return [csv, png]


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _fit(args) -> list[Path]:
    from .fitting.config import run_config, write_outputs

    if args.source.suffix == ".toml":
        result = run_config(args.source, args.out)
        folder = args.out or args.source.parent / result.config["name"]
    else:
        from . import load_model
        from .data import read_dataset
        from .fitting import fit

        data = read_dataset(args.source)
        species = args.species or data.species[0]
        model = load_model(species)
        result = fit(model, data, _split(args.free), per_study=_split(args.per_study) or (),
                     error_model=args.error_model, sigma=args.sigma, method=args.method,
                     multistart=args.multistart, seed=args.seed, profiles=args.profile,
                     mcmc_steps=args.mcmc_steps)
        folder = args.out or Path("results")
        write_outputs(result, folder, model)
    print(f"{result.status}: chi2 {result.chi2:.4g}, " + ", ".join(
        f"{p.key} = {p.value:.4g} {p.unit} ({p.identifiability})" for p in result.parameters))
    return sorted(Path(folder).glob("*"))


def _doses_arg(text: str):
    import numpy as np

    try:
        if ":" in text:
            first, last, n = text.split(":")
            return np.geomspace(float(first), float(last), int(n))
        return np.array([float(t) for t in text.split(",") if t.strip()])
    except ValueError:
        raise PoiOdeError(f"--doses {text!r}: give a comma list (1e5,1e6) or FIRST:LAST:N (1e5:1e7:20)") from None


def _dose_response(args) -> list[Path]:
    import json

    import matplotlib

    matplotlib.use("Agg")
    from . import load_model
    from .data import parse_regimen
    from .fitting import FitResult
    from .predict import dose_response

    if args.draws < 0:
        raise PoiOdeError(f"--draws must be >= 0, got {args.draws}")
    try:
        schedule = [float(t) for t in args.schedule.split(",") if t.strip()]
    except ValueError:
        raise PoiOdeError(f"--schedule {args.schedule!r}: give comma-separated days") from None
    source = [FitResult.from_json(p) for p in args.fit] if args.fit else load_model(args.species)
    dr = dose_response(source, args.agent, _doses_arg(args.doses), args.route, _split(args.endpoints) or [],
                       unit=args.unit, schedule=schedule, background=parse_regimen(args.background),
                       initial=args.initial, age=args.age, draws=args.draws, uncertainty=args.uncertainty,
                       seed=args.seed, executor="serial" if args.serial else None, progress=not args.quiet)
    args.out.mkdir(parents=True, exist_ok=True)
    table, emax, fig_path = args.out / "dose_response.csv", args.out / "emax.csv", args.out / "dose_response.png"
    dr.table.to_csv(table, index=False)
    dr.emax().to_csv(emax, index=False)
    dr.plot().savefig(fig_path, dpi=110)
    meta = args.out / "dose_response.json"
    meta.write_text(json.dumps(dict(agent=dr.agent, route=dr.route, unit=dr.unit, doses=dr.doses.tolist(),
                                    endpoints=dr.endpoints, uncertainty=dr.uncertainty_note, draws=len(dr.draws),
                                    failed=dr.failed), indent=1), encoding="utf-8")
    return [table, emax, fig_path, meta]


def _datasets(name: str | None) -> list[Path]:
    from .data import list_datasets, load_dataset, provenance_columns

    if name is None:
        for n in list_datasets():
            d = load_dataset(n)
            print(f"{n}: {len(d)} rows; studies {', '.join(d.studies)}; analytes {', '.join(sorted(set(d.frame['analyte'])))}")
        return []
    d = load_dataset(name)
    cols = ["study_id", "arm", "time_days", "analyte", "statistic", "value", "unit", "n", "spread_type", "spread",
            "censored", "confidence"]
    print(d.frame[[c for c in cols if c in d.frame.columns]].to_string(index=False))
    print("provenance columns: " + ", ".join(provenance_columns(d)))
    return []


def _equations(out: Path | None) -> list[Path]:
    from . import load_model
    from .export import equations_markdown

    text = equations_markdown([load_model("human"), load_model("mouse")])
    if out is None:
        sys.stdout.write(text)
        return []
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return [out]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
