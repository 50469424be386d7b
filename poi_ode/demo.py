"""Demonstration simulations written by ``poi-ode run`` until the calibrated main job lands.

They show the model's behaviour with its default (largely assumed, uncalibrated) parameters;
they are not predictions.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["run_demo", "MOUSE_INDUCTION"]

MOUSE_INDUCTION = (("cyclophosphamide", 120.0), ("busulfan", 30.0))
"""The common mouse POI induction: one intraperitoneal dose of each, mg/kg, at day 0."""


def run_demo(out: Path) -> list[Path]:
    """Write demonstration figures and a summary table to ``out``; return the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from . import Dose, Regimen, load_model, simulate
    from .plotting import plot_trajectories

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    mouse = load_model("mouse")
    induction = [Dose(0, agent, mg, "mg/kg", "intraperitoneal") for agent, mg in MOUSE_INDUCTION]

    arms = {"healthy": [], "CTX+BUS": induction}
    for cells in (2.5e5, 1e6, 4e6):
        arms[f"CTX+BUS + {cells:.2g} MSC io d14"] = [*induction, Dose(14, "msc", cells, "cells", "intraovarian")]
    trajs = {name: simulate(mouse, Regimen(doses), t_end=120) for name, doses in arms.items()}
    fig = plot_trajectories(
        list(trajs.values()), ("AMH", "FSH", "E2", "F_prim", "AFC", "Phi"), labels=list(trajs),
        title="Mouse, CTX 120 + BUS 30 mg/kg at day 0, intraovarian MSCs at day 14 (uncalibrated defaults)",
    )
    written.append(out / "mouse_msc_doses.png")
    fig.savefig(written[-1], dpi=120)

    routes = {
        "MSC 1e6 intraovarian": Dose(14, "msc", 1e6, "cells", "intraovarian"),
        "MSC 1e6 intravenous": Dose(14, "msc", 1e6, "cells", "intravenous"),
        "MSC 1e6 depot": Dose(14, "msc", 1e6, "cells", "depot"),
        "exosome 100 ug intraovarian": Dose(14, "exosome", 100, "ug", "intraovarian"),
    }
    route_trajs = {name: simulate(mouse, Regimen([*induction, d]), t_end=120) for name, d in routes.items()}
    route_trajs = {"CTX+BUS": trajs["CTX+BUS"], **route_trajs}
    fig = plot_trajectories(
        list(route_trajs.values()), ("AMH", "FSH", "Phi", "M_ov"), labels=list(route_trajs),
        title="Mouse after CTX+BUS: route and agent at day 14 (uncalibrated defaults)",
    )
    written.append(out / "mouse_routes.png")
    fig.savefig(written[-1], dpi=120)

    rows = []
    for name, tr in {**trajs, **route_trajs}.items():
        for day in (28, 42, 90):
            rows.append(dict(arm=name, day=day, AMH_ng_per_mL=tr.at(day, "AMH"), FSH_ng_per_mL=tr.at(day, "FSH"),
                             E2_pg_per_mL=tr.at(day, "E2"), primordial=tr.at(day, "F_prim")))
    table = pd.DataFrame(rows).drop_duplicates()
    written.append(out / "mouse_summary.csv")
    table.to_csv(written[-1], index=False)

    human = load_model("human")
    human_arms: dict[str, list[Dose]] = {"POI baseline": []}
    for cells in (5e6, 1e7, 1.5e7):
        human_arms[f"{cells:.2g} MSC io d0"] = [Dose(0, "msc", cells, "cells", "intraovarian")]
    human_trajs = {n: simulate(human, Regimen(d), t_end=365, initial="poi") for n, d in human_arms.items()}
    fig = plot_trajectories(
        list(human_trajs.values()), ("AMH", "FSH", "E2", "AFC"), labels=list(human_trajs),
        title="Woman with POI, intraovarian MSCs at day 0 (uncalibrated defaults)",
    )
    written.append(out / "human_poi_msc.png")
    fig.savefig(written[-1], dpi=120)

    note = out / "README.md"
    note.write_text(
        "# poi_ode demonstration\n\n"
        "Simulations with the default parameter sets, most of whose MSC, exosome, cytokine and damage values are "
        "labelled assumptions (see docs/model.md). They show the model's behaviour, not calibrated predictions; "
        "the calibrated main job replaces this output when fitting lands.\n\n"
        + "\n".join(f"- `{p.name}`" for p in written)
        + "\n",
        encoding="utf-8",
    )
    written.append(note)
    return written
