"""Try a structural variant of the untreated woman against the validation page (issue 10).

For a given ``[structure] ovulation_order`` and parameter changes, the script writes a copy of the
bundled human set with the changes, runs the joint natural-history calibration
(``fits/human_natural_history.toml``: its data, free parameters, sigma and scales) twice on it (the
estimates written back into the copy each time: a fixed point), and prints the estimates and the
human checks of the validation page the refitted copy passes and fails. Nothing bundled is changed.

    python benchmarks/natural_history_structure.py --order 4 --set s_la=0.99 --set s_sa=0.6

About 40 s per variant (two fits, one validation run of the woman's checks).
"""
from __future__ import annotations

import argparse
import re
import tempfile
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from poi_ode.fitting import fit
from poi_ode.fitting.config import _dataset, read_config
from poi_ode.fitting.write import write_fitted_parameters
from poi_ode.model import load_model
from poi_ode.parameters import load_parameter_set, parameter_file, rewrite_parameters
from poi_ode.validation.base import _Subject
from poi_ode.validation.checks import _human, run_checks
from poi_ode.validation.targets import load_targets

CONFIG = Path(__file__).resolve().parents[1] / "fits" / "human_natural_history.toml"


def variant(order: int, changes: dict[str, float], folder: Path, refits: int = 2) -> Path:
    """A refitted copy of the human set with ``ovulation_order`` = ``order`` and ``changes``."""
    path = folder / "human.toml"
    text, count = re.subn(r"^ovulation_order = \{ value = \d+,", f"ovulation_order = {{ value = {order},",
                          parameter_file("human").read_text(encoding="utf-8"), flags=re.M)
    if count != 1:
        raise KeyError("the human set has no [structure] ovulation_order line")
    path.write_text(text, encoding="utf-8")
    if changes:
        rewrite_parameters(path, {name: {"value": repr(float(value))} for name, value in changes.items()})
    config = read_config(CONFIG)
    dataset, _ = _dataset(config)
    for k in range(refits):
        model = load_model("human", parameters=str(path))
        result = fit(model, dataset, config["free"], error_model=config.get("error_model", "lognormal"),
                     sigma=config.get("sigma", 0.3), scales=config.get("scales", ()), seed=config.get("seed", 0),
                     name=config["name"])
        result.config["name"] = config["name"]
        write_fitted_parameters(result, path)
        shared = ", ".join(f"{p.name} {p.value:.4g}" for p in result.parameters if p.scope == "shared")
        print(f"fit {k + 1}: chi2 {result.chi2:.2f}; {shared}", flush=True)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--order", type=int, default=1, help="[structure] ovulation_order")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="parameter value to change before the refit (repeatable)")
    parser.add_argument("--all", action="store_true", help="also the chemotherapy and population checks")
    args = parser.parse_args(argv)
    changes = {}
    for item in args.set:
        name, _, value = item.partition("=")
        changes[name.strip()] = float(value)
    with tempfile.TemporaryDirectory() as tmp:
        pset = load_parameter_set(variant(args.order, changes, Path(tmp)))
        if args.all:
            frame = run_checks(("human",), params={"human": pset})
        else:  # the natural-history checks of the woman only (the page's first human block)
            rows = _human(_Subject("human", pset), load_targets())
            frame = pd.DataFrame([asdict(c) for c in rows])
    for _, row in frame.iterrows():
        print(f"{'pass' if row['passed'] else 'FAIL'}  {row['check'][:60]:60s} model {row['model']:.4g} "
              f"(published {row['published']}, {row['published_low']}-{row['published_high']})")
    print(f"{int(frame['passed'].sum())} of {len(frame)} pass")


if __name__ == "__main__":
    main()
