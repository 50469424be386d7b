"""The ``poi-ode`` command.

Subcommands: ``run`` (the main job; until calibration lands, a demonstration simulation),
``simulate`` (one regimen, CSV and PNG out) and ``equations`` (the generated equation page).
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

    run = sub.add_parser("run", help="the main job (now: demonstration simulations with figures)")
    run.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")

    sim = sub.add_parser("simulate", help="simulate one regimen and write CSV and PNG")
    sim.add_argument("--species", default="human", help="parameter set: human or mouse (default: human)")
    sim.add_argument("--dose", type=_dose, action="append", default=[], metavar="DAY:AGENT:AMOUNT:UNIT[:ROUTE]",
                     help="a dose; repeat the option for several")
    sim.add_argument("--t-end", type=_positive, default=180.0, help="end day (default: 180)")
    sim.add_argument("--initial", choices=["healthy", "poi"], default="healthy", help="initial state")
    sim.add_argument("--age", type=_positive, default=None, help="age in years (default: the set's reference age)")
    sim.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")

    eq = sub.add_parser("equations", help="write the generated equation page (Markdown)")
    eq.add_argument("--out", type=Path, default=None, help="file to write (default: standard output)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``poi-ode``; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            from .demo import run_demo

            written = run_demo(args.out)
        elif args.command == "simulate":
            written = _simulate(args)
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
