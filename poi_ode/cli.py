"""The ``poi-ode`` command.

Subcommands: ``run`` (the main job; until prediction lands, a demonstration simulation),
``simulate`` (one regimen, CSV and PNG out), ``fit`` (a dataset CSV or a fit config),
``gallery`` (the fit gallery page), ``datasets`` (list or show bundled data),
``equations`` (the generated equation page), ``sensitivity-example`` (the generated worked
example of docs/sensitivity.md) and ``gsa`` (Morris or Sobol' global sensitivity
of endpoints; CSV, PNG and a Markdown summary out).
Bad arguments or files end with exit code 2 and one line on stderr.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ._version import __version__
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
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the main job: calibrate on bundled data, predict dose-response, write a report")
    run.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")
    run.add_argument("--fits", type=Path, default=None,
                     help="folder of calibration configs (default: the ones shipped with poi_ode, the repository's "
                          "fits/)")
    run.add_argument("--draws", type=int, default=40, help="parameter draws per band (default: 40)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--serial", action="store_true", help="no process pool")
    run.add_argument("--quiet", action="store_true", help="no progress bars")

    demo = sub.add_parser("demo", help="demonstration simulations with the default parameters")
    demo.add_argument("--out", type=Path, default=Path("results/demo"), help="output folder")

    dr = sub.add_parser("dose-response", help="endpoints over a dose grid, with a labelled uncertainty band")
    dr.add_argument("--species", default="human", help="parameter set (ignored with --fit)")
    dr.add_argument("--fit", type=Path, action="append", default=[],
                    help="a fit.json whose fitted values to use (repeatable)")
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

    rs = sub.add_parser("responders",
                        help="responder fractions of doses in the virtual POI population (CSV and figure)")
    rs.add_argument("--species", default="human", help="parameter set (ignored with --fit; default: human)")
    rs.add_argument("--fit", type=Path, action="append", default=[],
                    help="a fit.json whose fitted values to use (repeatable)")
    rs.add_argument("--agent", default="msc", help="treatment agent (default: msc)")
    rs.add_argument("--doses", required=True, help="comma list (5e6,1e7) or a log grid FIRST:LAST:N (1e6:1e8:5)")
    rs.add_argument("--unit", default=None, help="dose unit (default: the agent's)")
    rs.add_argument("--route", default=None, help="route (default: the agent's)")
    rs.add_argument("--schedule", default="0", help="comma-separated administration days (default: 0)")
    rs.add_argument("--endpoints", default="ovulation,fsh_below_25_twice,e2_above_50",
                    help="comma-separated responder endpoints (default: all three)")
    rs.add_argument("--window", default="0-365", help="days FIRST-LAST in which an endpoint is read (default: 0-365)")
    rs.add_argument("--n", type=int, default=200, help="virtual women (default: 200)")
    rs.add_argument("--draws", type=int, default=0, help="parameter draws from the --fit covariance for the band")
    rs.add_argument("--population", type=Path, default=None,
                    help="a population TOML (default: the bundled, calibrated one)")
    rs.add_argument("--seed", type=int, default=0)
    rs.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")

    ev = sub.add_parser("evidence", help="calibrate the therapy on the published pooled preclinical effects "
                        "(model-based meta-analysis): evidence.md, evidence.csv and forest figures")
    ev.add_argument("--therapy", default="msc,exosome", help="comma list of msc, exosome (default: both)")
    ev.add_argument("--draws", type=int, default=30, help="parameter draws behind each predicted interval")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--quick", action="store_true", help="5 draws and no reverse held-out fit (a smoke run)")
    ev.add_argument("--quiet", action="store_true", help="no progress lines")
    ev.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")

    tr = sub.add_parser("translate", help="the human therapy values translated from the rodent evidence "
                        "calibrations (fits/evidence_*_rodent/fit.json); --write puts them into the human set")
    tr.add_argument("--time-exponent", type=float, default=None,
                    help="allometric exponent of the half-lives (default 0: tissue residence kept)")
    tr.add_argument("--write", action="store_true", help="write the values into the bundled human parameter file")

    gsa = sub.add_parser("gsa", help="global sensitivity (Morris or Sobol') of endpoints over the parameter bounds")
    gsa.add_argument("--method", choices=["morris", "sobol"], default="morris", help="(default: morris)")
    gsa.add_argument("--species", default="human", help="parameter set: human or mouse (ignored with --fit)")
    gsa.add_argument("--fit", type=Path, default=None, help="a fit.json whose fitted values to use")
    gsa.add_argument("--endpoints", default="AMH@90,FSH@90", help="comma-separated endpoints (default: AMH@90,FSH@90)")
    gsa.add_argument("--agent", default=None, help="treatment agent (msc, exosome...), with --dose")
    gsa.add_argument("--dose", type=_positive, default=None, help="amount per administration (in --unit)")
    gsa.add_argument("--unit", default=None, help="dose unit (default: the agent's)")
    gsa.add_argument("--route", default=None)
    gsa.add_argument("--schedule", default="0", help="comma-separated administration days (default: 0)")
    gsa.add_argument("--background", default="", help="common doses (an insult), DAY:AGENT:AMOUNT:UNIT[:ROUTE];...")
    gsa.add_argument("--parameters", default=None,
                     help="comma-separated parameters to vary (default: all with finite bounds, except definitions)")
    gsa.add_argument("--bounds", action="append", default=[], metavar="NAME=LOW:HIGH",
                     help="bounds replacing the set's, in its unit (repeatable)")
    gsa.add_argument("--initial", choices=["healthy", "poi"], default="healthy")
    gsa.add_argument("--age", type=_positive, default=None, help="age in years (default: the set's reference age)")
    gsa.add_argument("--trajectories", type=int, default=None, help="Morris trajectories (default: 10)")
    gsa.add_argument("--levels", type=int, default=None, help="Morris grid levels, even (default: 4)")
    gsa.add_argument("--n-base", type=int, default=None, help="Sobol' base sample size, a power of 2 (default: 512)")
    gsa.add_argument("--second-order", action="store_true", help="Sobol': also the pairwise indices S2")
    gsa.add_argument("--on-failure", choices=["raise", "impute"], default="raise",
                     help="failed simulations: stop (default) or impute the endpoint median")
    gsa.add_argument("--seed", type=int, default=0, help="fixes the sample and the bootstrap (default: 0)")
    gsa.add_argument("--top", type=int, default=10, help="parameters shown per endpoint (default: 10)")
    gsa.add_argument("--serial", action="store_true", help="no process pool")
    gsa.add_argument("--quiet", action="store_true", help="no progress bar")
    gsa.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")

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
    fit.add_argument("--per-arm", default="", metavar="PARAM[,..]",
                     help="comma-separated parameters estimated separately for each arm (STUDY/ARM)")
    fit.add_argument("--scales", default="", metavar="ANALYTE[,..]",
                     help="analytes with a free assay scale factor per study (an assay on its own scale; "
                          "added automatically, with a warning, for units that do not convert to the model's)")
    fit.add_argument("--priors", type=Path, default=None, metavar="FILE",
                     help="TOML or JSON file of priors: per parameter, median and sd_log10 (log-scale "
                          "parameters) or mean and sd (linear ones)")
    fit.add_argument("--initial", action="append", default=[], metavar="ARM=STATE",
                     help="initial state of an arm (ARM or STUDY/ARM; STATE healthy, poi or first_observation); "
                          "repeat the option or separate with commas")
    fit.add_argument("--exclude", default="", metavar="ROWS",
                     help="data rows to leave out, as numbered in the file (header = row 1), e.g. 5,9-11")
    fit.add_argument("--error-model", choices=["lognormal", "proportional", "additive"], default="lognormal")
    fit.add_argument("--sigma", type=_positive, default=0.3, help="assumed residual scale where data give no SD/SEM")
    fit.add_argument("--method", choices=["least_squares", "leastsq", "differential_evolution"],
                     default="least_squares")
    fit.add_argument("--multistart", type=int, default=0, help="extra Latin-hypercube starts")
    fit.add_argument("--profile", action="store_true", help="profile likelihood of every free parameter")
    fit.add_argument("--mcmc-steps", type=int, default=0, help="emcee steps (0: none)")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--out", type=Path, default=None,
                     help="output folder (default: results/, or fits/NAME/ for a config)")

    gal = sub.add_parser("gallery", help="write the fit gallery page from fits/*/fit.json")
    gal.add_argument("--fits", type=Path, default=Path("fits"), help="folder of fit outputs (default: fits)")
    gal.add_argument("--out", type=Path, default=Path("docs/fits.md"), help="page to write (default: docs/fits.md)")

    data = sub.add_parser("datasets", help="list bundled datasets, or show one")
    data.add_argument("name", nargs="?", default=None, help="a bundled dataset to show")

    ver = sub.add_parser("verify", help="cross-check against libRoadRunner; write the verification page")
    ver.add_argument("--out", type=Path, default=Path("docs/verification.md"))

    val = sub.add_parser("validate", help="check the untreated natural history against published data; write the "
                                          "validation page (validation.md and validation.csv)")
    val.add_argument("--out", type=Path, default=Path("docs"), help="output folder (default: docs)")

    ex = sub.add_parser("sensitivity-example", help="run the worked example of docs/sensitivity.md (Morris screen, "
                                                    "two seeds, local coefficients); write its generated page")
    ex.add_argument("--out", type=Path, default=Path("docs"),
                    help="output folder (default: docs): sensitivity_example.md, figures/gsa_morris.png and .csv")
    ex.add_argument("--trajectories", type=int, default=100, help="Morris trajectories per seed (default: 100)")
    ex.add_argument("--serial", action="store_true", help="no process pool")

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
        elif args.command == "gsa":
            written = _gsa(args, argv)
        elif args.command == "responders":
            written = _responders(args)
        elif args.command == "evidence":
            from .mbma.report import THERAPIES, run_evidence

            therapies = [t.strip() for t in args.therapy.split(",") if t.strip()]
            unknown = [t for t in therapies if t not in THERAPIES]
            if unknown or not therapies:
                raise PoiOdeError(f"--therapy: {', '.join(unknown) or 'nothing'} is not one of {', '.join(THERAPIES)}")
            if args.draws < 0:
                raise PoiOdeError(f"--draws must be >= 0, got {args.draws}")
            written = run_evidence(args.out, therapies, draws=args.draws, seed=args.seed, quick=args.quick,
                                   progress=not args.quiet)
        elif args.command == "translate":
            written = _translate(args)
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
        elif args.command == "validate":
            from .validation import write_validation

            written = list(write_validation(args.out))
        elif args.command == "sensitivity-example":
            from .sensitivity import write_worked_example

            written = list(write_worked_example(args.out, trajectories=args.trajectories,
                                                executor="serial" if args.serial else None))
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


def _rows(text: str) -> list[int]:
    """``"5,9-11"`` -> [5, 9, 10, 11] (file rows for ``--exclude``)."""
    rows: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            if "-" in part[1:]:
                first, last = (int(x) for x in part.split("-", 1))
                if last < first or last - first > 1_000_000:
                    raise ValueError
                rows += range(first, last + 1)
            else:
                rows.append(int(part))
        except ValueError:
            raise PoiOdeError(f"--exclude {part!r}: give row numbers or ranges, e.g. 5,9-11") from None
    if any(r < 2 for r in rows):
        raise PoiOdeError(f"--exclude: row {min(rows)} is not a data row (the header is row 1, data start at row 2)")
    return rows


def _initial(items: Sequence[str]) -> dict[str, str] | None:
    """``["CTX=poi", "A/B=healthy,C=first_observation"]`` -> {"CTX": "poi", ...} (``--initial``)."""
    states = ("healthy", "poi", "first_observation")
    out: dict[str, str] = {}
    for item in items:
        for part in (p.strip() for p in item.split(",")):
            if not part:
                continue
            arm, sep, state = part.rpartition("=")
            if not sep or not arm.strip():
                raise PoiOdeError(f"--initial {part!r}: give ARM=STATE, e.g. CTX=poi")
            if state.strip() not in states:
                raise PoiOdeError(f"--initial {part!r}: the state must be one of {', '.join(states)}")
            out[arm.strip()] = state.strip()
    return out or None


def _priors(path: Path | None) -> dict[str, dict[str, float]] | None:
    """Priors from a TOML or JSON file (``--priors``): ``{name: {median, sd_log10} or {mean, sd}}``;
    a top-level ``priors`` table (as in a fit config) is accepted too."""
    import json
    import math

    if path is None:
        return None
    what = f"--priors {path.name}"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PoiOdeError(f"{what}: not UTF-8 text") from None
    except OSError as exc:
        raise PoiOdeError(f"{what}: cannot be read ({exc.strerror or exc})") from None
    try:
        if path.suffix.lower() == ".json":
            table = json.loads(text)
        else:
            from .parameters.loading import tomllib

            table = tomllib.loads(text)
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise PoiOdeError(f"{what}: not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'} ({exc})") from None
    if isinstance(table, dict) and set(table) == {"priors"}:
        table = table["priors"]
    if not isinstance(table, dict) or not table:
        raise PoiOdeError(f"{what}: expected a table per parameter, e.g. [s_M] median = 1e-6, sd_log10 = 1")
    out: dict[str, dict[str, float]] = {}
    for name, spec in table.items():
        if not isinstance(spec, dict) or set(spec) not in ({"median", "sd_log10"}, {"mean", "sd"}):
            raise PoiOdeError(f"{what}: prior of {name!r} must give median and sd_log10, or mean and sd; got {spec!r}")
        values = {}
        for key, value in spec.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise PoiOdeError(f"{what}: {name}.{key} = {value!r} is not a finite number")
            values[key] = float(value)
        if values.get("sd", 1.0) <= 0 or values.get("sd_log10", 1.0) <= 0 or values.get("median", 1.0) <= 0:
            raise PoiOdeError(f"{what}: prior of {name!r} needs a positive median and standard deviation")
        out[str(name)] = values
    return out


_CSV_ONLY = {"--species": "species", "--free": "free", "--per-study": "per_study", "--per-arm": "per_arm",
             "--scales": "scales", "--priors": "priors", "--initial": "initial", "--exclude": "exclude",
             "--error-model": "error_model", "--sigma": "sigma", "--method": "method", "--multistart": "multistart",
             "--profile": "profile", "--mcmc-steps": "mcmc_steps", "--seed": "seed"}
"""Options of ``poi-ode fit`` that a fit config sets itself (option: argument name); ``--out`` applies to both."""

_CONFIG_KEY = {"priors": "[priors.NAME]", "initial": "[initial]", "profile": "profiles"}
"""Config keys whose name differs from the option's argument name."""


def _fit(args) -> list[Path]:
    import warnings

    from .errors import PoiOdeWarning
    from .fitting.config import run_config, write_outputs

    if args.source.suffix == ".toml":
        defaults = vars(_parser().parse_args(["fit", str(args.source)]))
        given = [option for option, dest in _CSV_ONLY.items() if getattr(args, dest) != defaults[dest]]
        if given:
            keys = ", ".join(_CONFIG_KEY.get(_CSV_ONLY[o], _CSV_ONLY[o]) for o in given)
            raise PoiOdeError(f"{', '.join(given)} apply to a dataset CSV; a fit config gives them as keys "
                              f"({keys}): edit the config or copy it")
        result = run_config(args.source, args.out)
        folder = args.out or args.source.parent / result.config["name"]
    else:
        from . import load_model
        from .data import read_dataset
        from .fitting import fit

        priors, initial, exclude = _priors(args.priors), _initial(args.initial), _rows(args.exclude)
        data = read_dataset(args.source)
        species = args.species or data.species[0]
        model = load_model(species)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PoiOdeWarning)
            result = fit(model, data, _split(args.free), per_study=_split(args.per_study) or (),
                         per_arm=_split(args.per_arm) or (), scales=_split(args.scales) or (), priors=priors,
                         initial=initial, exclude=exclude, error_model=args.error_model, sigma=args.sigma,
                         method=args.method, multistart=args.multistart, seed=args.seed, profiles=args.profile,
                         mcmc_steps=args.mcmc_steps)
        for w in caught:
            if issubclass(w.category, PoiOdeWarning):
                print(f"poi-ode fit: warning: {w.message}", file=sys.stderr)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
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
    schedule = _schedule(args.schedule)
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
    meta.write_text(json.dumps({"agent": dr.agent, "route": dr.route, "unit": dr.unit, "doses": dr.doses.tolist(),
                                "endpoints": dr.endpoints, "uncertainty": dr.uncertainty_note, "draws": len(dr.draws),
                                "failed": dr.failed}, indent=1), encoding="utf-8")
    return [table, emax, fig_path, meta]


def _responders(args) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import load_model
    from .fitting import FitResult
    from .population import load_population, plot_responders, responder_table

    first, _, last = args.window.partition("-")
    try:
        window = (float(first), float(last))
    except ValueError:
        raise PoiOdeError(f"--window {args.window!r}: give FIRST-LAST in days, e.g. 0-365") from None
    if args.n < 1:
        raise PoiOdeError(f"--n must be >= 1, got {args.n}")
    source = [FitResult.from_json(p) for p in args.fit] if args.fit else load_model(args.species)
    population = load_population(args.population) if args.population else None
    table = responder_table(source, args.agent, _doses_arg(args.doses), route=args.route, unit=args.unit,
                            schedule=_schedule(args.schedule), endpoints=_split(args.endpoints) or [], window=window,
                            population=population, n=args.n, draws=args.draws, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path, full_path, fig_path = (args.out / "responders.csv", args.out / "responders_full.csv",
                                     args.out / "responders.png")
    table[["dose", "endpoint", "window", "fraction", "lower", "upper", "untreated_fraction"]].to_csv(
        csv_path, index=False)
    table.to_csv(full_path, index=False)
    fig = plot_responders(table)
    fig.savefig(fig_path, dpi=110)
    plt.close(fig)
    return [csv_path, full_path, fig_path]


def _schedule(text: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise PoiOdeError(f"--schedule {text!r}: give comma-separated days") from None


def _bounds(items: Sequence[str]) -> dict[str, tuple[float, float]]:
    """``NAME=LOW:HIGH`` items into ``{name: (low, high)}``."""
    out = {}
    for item in items:
        name, _, pair = item.partition("=")
        try:
            low, high = (float(x) for x in pair.split(":"))
        except ValueError:
            raise PoiOdeError(f"--bounds {item!r}: give NAME=LOW:HIGH, e.g. s_M=1e-8:1e-5") from None
        out[name.strip()] = (low, high)
    return out


def _regimen_text(regimen) -> str:
    return "; ".join(f"{d.time:g}:{d.agent}:{d.amount:g}:{d.unit}" + (f":{d.route}" if d.route else "")
                     for d in regimen) or "none"


def _gsa(args, argv: Sequence[str] | None) -> list[Path]:
    import shlex

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import load_model
    from .data import parse_regimen
    from .fitting import FitResult
    from .sensitivity import morris, sobol

    morris_only = {"--trajectories": args.trajectories, "--levels": args.levels}
    sobol_only = {"--n-base": args.n_base, "--second-order": args.second_order or None}
    wrong = [k for k, v in (sobol_only if args.method == "morris" else morris_only).items() if v is not None]
    if wrong:
        raise PoiOdeError(f"{wrong[0]} does not apply to --method {args.method}")
    if args.top < 1:
        raise PoiOdeError(f"--top must be >= 1, got {args.top}")
    endpoints = _split(args.endpoints)
    if not endpoints:
        raise PoiOdeError("--endpoints: give at least one endpoint, e.g. FSH@90")
    source = FitResult.from_json(args.fit) if args.fit else load_model(args.species)
    common = {"parameters": _split(args.parameters), "agent": args.agent, "dose": args.dose, "route": args.route,
              "unit": args.unit, "schedule": _schedule(args.schedule), "background": parse_regimen(args.background),
              "bounds": _bounds(args.bounds) or None, "initial": args.initial, "age": args.age, "seed": args.seed,
              "executor": "serial" if args.serial else None, "on_failure": args.on_failure,
              "progress": not args.quiet}
    if args.method == "morris":
        sizes = {k: v for k, v in (("trajectories", args.trajectories), ("levels", args.levels)) if v is not None}
        result = morris(source, endpoints, **sizes, **common)
    else:
        sizes = {"n_base": args.n_base} if args.n_base is not None else {}
        result = sobol(source, endpoints, second_order=args.second_order, **sizes, **common)

    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"gsa_{args.method}"
    table, fig_path, summary = args.out / f"{stem}.csv", args.out / f"{stem}.png", args.out / f"{stem}.md"
    result.to_frame().to_csv(table, index=False)
    fig = result.plot(top=args.top)
    fig.savefig(fig_path, dpi=110)
    plt.close(fig)
    written = [table, fig_path, summary]
    if len(result.failures):
        failures = args.out / f"{stem}_failures.csv"
        result.failures.to_csv(failures, index=False)
        written.append(failures)
    command = "poi-ode " + shlex.join(list(argv) if argv is not None else sys.argv[1:])
    summary.write_text(_gsa_summary(result, args, command, [p.name for p in written]), encoding="utf-8")
    return written


def _gsa_summary(result, args, command: str, files: list[str]) -> str:
    """The Markdown summary of a global sensitivity run: settings, cost, failures, top parameters."""
    title = "Morris screening" if result.method == "morris" else "Sobol' indices"
    source = f"fitted values of {args.fit.name}" if args.fit else f"{args.species} parameter set"
    if result.method == "morris":
        sample = (f"{result.settings['trajectories']} trajectories, {result.settings['levels']} levels, "
                  f"seed {result.seed}")
    else:
        sample = (f"N = {result.settings['n_base']}" + (", second order" if result.settings["second_order"] else "")
                  + f", seed {result.seed}")
    changed = ", ".join(f"{n} [{lo:g}, {hi:g}]" for n, (lo, hi) in _bounds(args.bounds).items())
    lines = [
        f"# {title}: {', '.join(result.endpoints)}", "",
        f"Command: `{command}`", "",
        "| setting | value |", "|---|---|",
        f"| parameters not varied | {source} |",
        f"| regimen (every evaluation) | {_regimen_text(result.regimen)} |",
        f"| initial state | {args.initial}, age {f'{args.age:g} years' if args.age else 'of the set'} |",
        f"| endpoints | {', '.join(f'{e} ({u})' for e, u in zip(result.endpoints, result.endpoint_units))} |",
        f"| parameters varied | {len(result.parameters)}, uniform over their bounds (log-uniform on log scale)"
        + (f"; bounds set here: {changed}" if changed else "") + " |",
        f"| sample | {sample} |",
        f"| evaluations | {result.n_evaluations} simulations |",
        f"| failures | {len(result.failures)}" + (f" ({result.note})" if result.note else "") + " |",
        f"| wall time | {result.elapsed:.1f} s (sampling, simulations, analysis) |",
        f"| files | {', '.join(files)} |",
        "",
    ]
    wide = result.to_frame(wide=True)
    cols = (["mu_star", "mu_star_conf", "mu", "sigma"] if result.method == "morris"
            else ["ST", "ST_conf", "S1", "S1_conf"])
    for name, unit in zip(result.endpoints, result.endpoint_units):
        rows = wide[wide["endpoint"] == name].head(args.top)
        what = f"mu* ({unit} per full range)" if result.method == "morris" else "total index ST"
        lines += [f"## {name}: top {len(rows)} by {what}", "",
                  "| rank | parameter | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
        lines += [f"| {k} | {r['parameter']} | " + " | ".join(f"{r[c]:.3g}" for c in cols) + " |"
                  for k, (_, r) in enumerate(rows.iterrows(), start=1)]
        lines.append("")
    return "\n".join(lines)


def _datasets(name: str | None) -> list[Path]:
    from .data import dataset_kinds, list_datasets, load_dataset, load_pooled_effects, provenance_columns

    kinds = dataset_kinds()
    if name is None:
        for n in list_datasets():
            if kinds[n] == "pooled_effects":
                p = load_pooled_effects(n)
                print(f"{n} (pooled effects): {len(p)} rows; meta-analyses "
                      f"{', '.join(dict.fromkeys(p['meta_analysis']))}; analytes "
                      f"{', '.join(sorted(set(p['analyte'])))}")
                continue
            d = load_dataset(n)
            print(f"{n}: {len(d)} rows; studies {', '.join(d.studies)}; analytes "
                  f"{', '.join(sorted(set(d.frame['analyte'])))}")
        return []
    if kinds.get(name) == "pooled_effects":
        cols = ["effect_id", "measure", "estimate", "ci_low", "ci_high", "k_studies", "I2_percent", "confidence",
                "flag"]
        print(load_pooled_effects(name)[cols].to_string(index=False))
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


def _translate(args) -> list[Path]:
    from .mbma.translation import TIME_EXPONENT, translate_therapy, translation_table, write_translation
    from .parameters import parameter_file

    exponent = TIME_EXPONENT if args.time_exponent is None else args.time_exponent
    translations = translate_therapy(time_exponent=exponent)
    print(translation_table(translations).to_string(index=False))
    if not args.write:
        return []
    write_translation(translations)
    return [parameter_file("human")]
