"""The worked example of ``docs/sensitivity.md``, generated from the bundled mouse parameter set.

:func:`run_worked_example` runs the documented Morris screen (MSC therapy after cyclophosphamide
and busulfan in the mouse; the settings are the module constants) for two seeds and the local
:func:`~poi_ode.sensitivity.endpoint_sensitivity` coefficients at the set's values;
:func:`example_markdown` writes the page from those numbers; :func:`write_worked_example` (the
command ``poi-ode sensitivity-example --out docs``) writes the page, the figure and the table.
Every number on the page, and every statement that interprets them (which ranks agree between
seeds, where the extreme outputs come from, how local and global rankings compare), is
computed here: the page is never edited by hand.
"""
from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .gsa import morris
from .local import endpoint_sensitivity

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Executor

    import pandas as pd

    from ..model.core import Model
    from .gsa import GlobalSensitivity

__all__ = [
    "EXAMPLE_BACKGROUND",
    "EXAMPLE_BOUNDS",
    "EXAMPLE_ENDPOINTS",
    "EXAMPLE_PARAMETERS",
    "WorkedExample",
    "agreeing_prefix",
    "example_markdown",
    "run_worked_example",
    "shared_top",
    "stability_sentence",
    "write_worked_example",
]

EXAMPLE_BACKGROUND = "0:cyclophosphamide:120:mg/kg:intraperitoneal; 0:busulfan:30:mg/kg:intraperitoneal"
"""The chemotherapy insult given in every evaluation of the worked example."""

EXAMPLE_AGENT, EXAMPLE_DOSE, EXAMPLE_ROUTE, EXAMPLE_SCHEDULE = "msc", 1e6, "intraovarian", (14.0,)
"""The MSC treatment of the worked example: 1e6 cells (the agent's unit) into the ovaries on day 14."""

EXAMPLE_ENDPOINTS = ("FSH@90", "AUC:AMH@14-90", "F_prim@90")
"""Endpoints of the worked example."""

EXAMPLE_PARAMETERS = (
    "t_half_M_ov", "M_capacity", "s_M", "t_half_P", "p_protect", "r_repair_P", "i_pro_P", "g_anti_P", "b_act_P",
    "t_half_C_pro", "t_half_C_anti", "g_pro_D", "w_anti", "t_half_repair", "b_act_D", "kill_cyclophosphamide",
    "t_half_cyclophosphamide", "kill_busulfan", "damage_busulfan", "t_half_busulfan",
)
"""The 20 treatment and damage parameters varied (MSC retention, paracrine signal and its effects,
inflammation, repair, the two drugs); the follicle and hormone physiology stays at the set's values."""

EXAMPLE_BOUNDS = {"kill_cyclophosphamide": (0.005, 0.03), "kill_busulfan": (0.005, 0.03)}
"""Bounds narrowed from the set's (kg/mg), around kill = ln 2 / ED50 for the strain range of the
cyclophosphamide ED50 quoted in the set's source of ``kill_cyclophosphamide``; busulfan was
assumed alike when the example was designed (the page says whether the set's values lie inside)."""

SEEDS = (0, 1)
"""The two samples of the same box."""

TOP = 5
"""Ranks compared between seeds."""

EXTREMES = 20
"""How many of the largest outputs are examined for where in the box they come from."""

PAGE = "sensitivity_example.md"
FIGURE = "figures/gsa_morris.png"
TABLE = "figures/gsa_morris.csv"


@dataclass
class WorkedExample:
    """The numbers behind the worked example.

    Attributes
    ----------
    runs : dict of int to GlobalSensitivity
        The Morris screen, by seed.
    local : dict of str to DataFrame
        :func:`~poi_ode.sensitivity.endpoint_sensitivity` of each endpoint to the varied
        parameters at the set's values (the narrowed bounds do not change those values).
    pools : list of (str, float, float, float)
        ``F_prim@90`` for a setting (label, then without chemotherapy, after the chemotherapy
        alone, with the MSC dose too): the set's values, and each narrowed parameter at the
        set's upper bound and at the upper bound used here.
    set_bounds : dict of str to (float, float, float)
        The set's value, lower and upper bound of each narrowed parameter.
    at_bound : dict of str to str
        Varied parameters whose set value lies on a bound ("lower" or "upper").
    trajectories : int
    modules : tuple of str
        The model's module names.
    sources : dict of str to str
        The set's source of each narrowed parameter.
    """

    runs: dict[int, GlobalSensitivity]
    local: dict[str, pd.DataFrame]
    pools: list[tuple[str, float, float, float]]
    set_bounds: dict[str, tuple[float, float, float]]
    at_bound: dict[str, str]
    trajectories: int
    modules: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)


def gsa_command(trajectories: int, seed: int, out: str = "results/gsa_example") -> str:
    """The ``poi-ode gsa`` command that runs one seed of the worked example (its own summary and
    single-seed table go to ``out``, not over the generated files)."""
    argv = ["poi-ode", "gsa", "--species", "mouse", "--background", EXAMPLE_BACKGROUND,
            "--agent", EXAMPLE_AGENT, "--dose", f"{EXAMPLE_DOSE:g}", "--route", EXAMPLE_ROUTE,
            "--schedule", ",".join(f"{d:g}" for d in EXAMPLE_SCHEDULE),
            "--endpoints", ",".join(EXAMPLE_ENDPOINTS), "--parameters", ",".join(EXAMPLE_PARAMETERS)]
    for name, (lo, hi) in EXAMPLE_BOUNDS.items():
        argv += ["--bounds", f"{name}={lo:g}:{hi:g}"]
    argv += ["--trajectories", str(trajectories), "--seed", str(seed), "--out", out]
    return shlex.join(argv)


def run_worked_example(
    trajectories: int = 100,
    seeds: Sequence[int] = SEEDS,
    executor: Executor | str | None = None,
    model: Model | None = None,
) -> WorkedExample:
    """Run the worked example: the Morris screen for each seed and the local coefficients.

    Parameters
    ----------
    trajectories : int
        Morris trajectories per seed (the model runs ``trajectories * 21`` times per seed).
    seeds : sequence of int
        Samples of the box (two for the page).
    executor : concurrent.futures.Executor, "serial", "processes" or None
        As in :func:`~poi_ode.sensitivity.morris`.
    model : Model, optional
        Default: the bundled mouse model.

    Returns
    -------
    WorkedExample

    Raises
    ------
    ParameterError
        A named parameter is not in the model (renamed by a recalibration), or bad bounds.
    """
    from ..data import parse_regimen
    from ..dosing import Dose, Regimen
    from ..model import load_model
    from ..predict.endpoints import parse_endpoint
    from ..simulate import simulate

    m = model if model is not None else load_model("mouse")
    background = parse_regimen(EXAMPLE_BACKGROUND)
    runs = {int(seed): morris(m, list(EXAMPLE_ENDPOINTS), list(EXAMPLE_PARAMETERS), background=background,
                              bounds=EXAMPLE_BOUNDS, trajectories=trajectories, seed=int(seed), executor=executor,
                              agent=EXAMPLE_AGENT, dose=EXAMPLE_DOSE, route=EXAMPLE_ROUTE, schedule=EXAMPLE_SCHEDULE)
            for seed in seeds}
    unit = m.dose_target(EXAMPLE_AGENT, EXAMPLE_ROUTE).unit
    treatment = Regimen([Dose(day, EXAMPLE_AGENT, EXAMPLE_DOSE, unit, EXAMPLE_ROUTE) for day in EXAMPLE_SCHEDULE])
    regimen = background + treatment
    local = {e: endpoint_sensitivity(m, e, regimen, parameters=list(EXAMPLE_PARAMETERS)) for e in EXAMPLE_ENDPOINTS}
    pset = m.require_parameter_set()
    pool = parse_endpoint("F_prim@90")
    settings = [("the set's values", pset)]
    for name, (_, high) in EXAMPLE_BOUNDS.items():
        settings += [(f"`{name}` = {pset[name].upper:g} (the set's upper bound)",
                      pset.with_values({name: pset[name].upper})),
                     (f"`{name}` = {high:g} (the upper bound here)", pset.with_values({name: high}))]
    pools = []
    for label, ps in settings:
        none, chemo, treated = (float(pool(simulate(m, doses, times=[0.0, 90.0], params=ps)))
                                for doses in (Regimen([]), background, regimen))
        pools.append((label, none, chemo, treated))
    set_bounds = {n: (pset[n].value, pset[n].lower, pset[n].upper) for n in EXAMPLE_BOUNDS}
    at_bound = {}
    for n in EXAMPLE_PARAMETERS:
        p = pset[n]
        if math.isclose(p.value, p.upper, rel_tol=1e-9):
            at_bound[n] = "upper"
        elif math.isclose(p.value, p.lower, rel_tol=1e-9, abs_tol=1e-300):
            at_bound[n] = "lower"
    return WorkedExample(runs, local, pools, set_bounds, at_bound, int(trajectories),
                         tuple(mod.name for mod in m.modules), {n: pset[n].source for n in EXAMPLE_BOUNDS})


# ----------------------------------------------------------------------------- derived statements
def ranking(result: GlobalSensitivity, endpoint: str) -> list[str]:
    """Parameters of ``endpoint`` by decreasing ``mu_star`` (``ST`` for Sobol')."""
    wide = result.to_frame(wide=True)
    return list(wide.loc[wide["endpoint"] == endpoint, "parameter"])


def agreeing_prefix(a: Sequence[str], b: Sequence[str]) -> int:
    """How many leading ranks two rankings share, in the same order."""
    k = 0
    for x, y in zip(a, b):
        if x != y:
            break
        k += 1
    return k


def shared_top(a: Sequence[str], b: Sequence[str], n: int) -> int:
    """How many parameters the first ``n`` of two rankings have in common (in any order)."""
    return len(set(a[:n]) & set(b[:n]))


def _names(names: Sequence[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def stability_sentence(a: Sequence[str], b: Sequence[str], n: int = TOP) -> str:
    """What two rankings of the same endpoint (two seeds) agree on, in words.

    Parameters
    ----------
    a, b : sequence of str
        Parameters by decreasing index, first and second seed.
    n : int
        Ranks compared.

    Returns
    -------
    str
        The number of leading ranks that agree in the same order, and how many of the first
        ``n`` the two share; also when the first ``n`` hold the same parameters in another order.
    """
    k = min(agreeing_prefix(a, b), n)
    shared = shared_top(a, b, n)
    if k == 0:
        head = f"the leading parameter differs between the seeds ({_names([a[0]])} vs {_names([b[0]])})"
    elif k == n:
        head = f"the first {n} ranks agree, in the same order"
    elif k == 1:
        head = f"only the leading parameter agrees ({_names(a[:1])}); rank 2 differs"
    else:
        head = f"the first {k} ranks agree, in the same order ({_names(a[:k])}); rank {k + 1} differs"
    if k < n:
        tail = (f"; the first {n} hold the same parameters in another order" if shared == n
                else f"; {shared} of the first {n} are shared")
    else:
        tail = ""
    return head + tail


def _wide(result: GlobalSensitivity, endpoint: str) -> pd.DataFrame:
    wide = result.to_frame(wide=True)
    return wide[wide["endpoint"] == endpoint].set_index("parameter")


def _positions(result: GlobalSensitivity) -> np.ndarray:
    """Sample rows as positions in each parameter's range, 0 to 1 in its sampling scale."""
    pos = np.empty_like(result.sample)
    for j, scale in enumerate(result.scales):
        lo, hi = result.bounds[j]
        x = result.sample[:, j]
        pos[:, j] = ((np.log10(x) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) if scale == "log"
                     else (x - lo) / (hi - lo))
    return pos


def extremes_sentence(result: GlobalSensitivity, endpoint: str, count: int = EXTREMES) -> str:
    """Where in the box the ``count`` largest values of ``endpoint`` lie: the parameters whose
    median position over those rows is in the top or bottom quarter of their range."""
    j = result.endpoints.index(endpoint)
    rows = np.argsort(result.outputs[:, j])[::-1][:count]
    median = np.median(_positions(result)[rows], axis=0)
    high = [result.parameters[i] for i in np.argsort(-median) if median[i] >= 0.75]
    low = [result.parameters[i] for i in np.argsort(median) if median[i] <= 0.25]
    parts = ([f"near the upper end of their range: {_names(high)}"] if high else []) + \
            ([f"near the lower end: {_names(low)}"] if low else [])
    where = "; ".join(parts) if parts else "no parameter sits mostly in the top or bottom quarter of its range"
    return f"its {len(rows)} largest values (seed {result.seed}) have, in the median, {where}"


def _g(x: float) -> str:
    return f"{x:.3g}"


def _pct(x: float) -> str:
    return f"{x:.3g} %"


def example_markdown(ex: WorkedExample) -> str:
    """The worked example page, every number and interpretation computed from ``ex``.

    Parameters
    ----------
    ex : WorkedExample
        From :func:`run_worked_example` (two seeds for the stability section).

    Returns
    -------
    str
        Markdown, headed by a comment naming the command that generates it.
    """
    seeds = sorted(ex.runs)
    first = ex.runs[seeds[0]]
    units = dict(zip(first.endpoints, first.endpoint_units))
    lines = [
        "<!-- generated by `poi-ode sensitivity-example --out docs` "
        "(poi_ode.sensitivity.example.write_worked_example); do not edit by hand -->", "",
        "# Worked example: Morris screening of MSC therapy after chemotherapy in the mouse", "",
        "Question: in the mouse model of chemotherapy-induced POI (cyclophosphamide 120 mg/kg and busulfan 30 mg/kg "
        "on day 0) treated with 1e6 intraovarian MSCs on day 14, which of the treatment and damage parameters drive "
        "the state at day 90? The API is explained in [sensitivity.md](sensitivity.md); this page is written by "
        "`poi-ode sensitivity-example --out docs` from the bundled mouse parameter set, so its numbers and the "
        "statements about them are those of the current model.", "",
        f"Varied: the {len(first.parameters)} parameters {_names(first.parameters)}, each uniform over its bounds "
        "(log-uniform on log scale); the follicle and hormone physiology stays at the set's values. Endpoints: "
        + ", ".join(f"`{e}` ({u})" for e, u in units.items()) + ".", "",
    ]
    # the narrowed bounds, checked against the set
    source = ex.sources.get("kill_cyclophosphamide", "")
    lines += ["**The narrowed bounds.** The follicle-kill constants are narrowed from the set's bounds to about "
              "ln 2 / ED50 over the strain range of the cyclophosphamide ED50 for primordial follicle loss (the "
              f"set's source of `kill_cyclophosphamide`: \"{source}\"; see [model.md](model.md)):", "",
              "| parameter | set's value | set's bounds | bounds here | set's value inside? |", "|---|---|---|---|---|"]
    for name, (lo, hi) in EXAMPLE_BOUNDS.items():
        value, slo, shi = ex.set_bounds[name]
        inside = "yes" if lo <= value <= hi else "**no**"
        lines.append(f"| `{name}` | {_g(value)} | [{_g(slo)}, {_g(shi)}] | [{_g(lo)}, {_g(hi)}] | {inside} |")
    outside = [n for n, (lo, hi) in EXAMPLE_BOUNDS.items() if not lo <= ex.set_bounds[n][0] <= hi]
    if outside:
        lines += ["", f"The set's value of {_names(outside)} lies outside the range used here (chosen when busulfan "
                  "was assumed to kill like cyclophosphamide), so this box does not contain the bundled model's own "
                  "point for it."]
    lines += ["", "The primordial pool at day 90 (follicles) in single simulations, the other parameters at the "
              "set's values:", "",
              "| parameters | no chemotherapy | chemotherapy alone | chemotherapy and MSCs |", "|---|---|---|---|"]
    lines += [f"| {label} | {_g(none)} | {_g(chemo)} | {_g(treated)} |" for label, none, chemo, treated in ex.pools]
    _, none, chemo, treated = ex.pools[0]
    lost = none - chemo
    if lost > 0:
        back = (treated - chemo) / lost * 100
        why = (" (the model has the `rescue` module: the paracrine effect returns hit primordial follicles to the "
               "reserve; [model.md](model.md#module-rescue))" if "rescue" in ex.modules else "")
        lines += ["", f"At the set's values the chemotherapy removes {_pct(lost / none * 100)} of the pool by day "
                  f"90 and the MSC dose gives back {_pct(back)} of that loss{why}."]
    lines.append("")
    # the run
    runs_text = "; ".join(f"seed {s}: {ex.runs[s].n_evaluations} simulations, {len(ex.runs[s].failures)} failed"
                          for s in seeds)
    lines += [f"**The runs.** {ex.trajectories} trajectories, {first.settings['levels']} levels per seed "
              f"({runs_text}). "
              f"The figure and [table]({TABLE}) (both seeds; tidy: seed, endpoint, parameter, index, value, unit) "
              f"show seed {seeds[0]}. One seed of the screen on its own, with the summary `poi-ode gsa` "
              f"writes (from the repository root; `--seed {seeds[-1]}` for the other):",
              "", "```", gsa_command(ex.trajectories, seeds[0]), "```", "",
              f"![Morris mu*-sigma plots for {', '.join(first.endpoints)}]({FIGURE})", ""]
    sigma_lines = []
    for e in first.endpoints:
        w = _wide(first, e).head(TOP)
        above = int((w["sigma"] > w["mu_star"]).sum())
        sigma_lines.append(f"- `{e}`: `sigma` > `mu_star` for {above} of the top {len(w)}.")
    lines += ["Points above the dashed line (`sigma` > `mu_star`) are parameters whose effect depends on where "
              f"the others sit in the box (nonlinearity or interaction). Seed {seeds[0]}:", "", *sigma_lines, ""]
    # stability
    if len(seeds) >= 2:
        a_run, b_run = ex.runs[seeds[0]], ex.runs[seeds[1]]
        lines += [f"**Stability across seeds.** The same screen with seed {seeds[1]} (another sample of the same "
                  f"box); `mu_star` in the endpoint's unit per full range:", "",
                  f"| endpoint | rank | seed {seeds[0]} | seed {seeds[1]} |", "|---|---|---|---|"]
        for e in first.endpoints:
            wa, wb = _wide(a_run, e), _wide(b_run, e)
            ra, rb = list(wa.index), list(wb.index)
            for k in range(TOP):
                label = f"{e} ({units[e]})" if k == 0 else ""
                lines.append(f"| {label} | {k + 1} | {ra[k]} {_g(wa.loc[ra[k], 'mu_star'])} | "
                             f"{rb[k]} {_g(wb.loc[rb[k], 'mu_star'])} |")
        lines += [""]
        for e in first.endpoints:
            wa, wb = _wide(a_run, e), _wide(b_run, e)
            ra, rb = list(wa.index), list(wb.index)
            both = [p for p in ra[:TOP] if p in rb[:TOP]]
            change = max((abs(wb.loc[p, "mu_star"] - wa.loc[p, "mu_star"]) / wa.loc[p, "mu_star"] * 100
                          for p in both if wa.loc[p, "mu_star"] > 0), default=math.nan)
            moved = (f" The `mu_star` of the parameters in both top {TOP} moves by up to {_pct(change)} between "
                     "seeds." if math.isfinite(change) else "")
            lines.append(f"- **{e}**: {stability_sentence(ra, rb, TOP)}.{moved}")
        lines += ["", "A ranking that changes between two samples of the same box is not settled by either; check "
                  "every ranking with a second seed (or more trajectories).", ""]
    # where the outputs come from
    lines += ["**Spread over the box.** Each endpoint over all simulations of both seeds, and where its largest "
              "values come from:", ""]
    for e in first.endpoints:
        j = first.endpoints.index(e)
        y = np.concatenate([ex.runs[s].outputs[:, j] for s in seeds])
        nominal = float(ex.local[e].attrs["endpoint_value"])
        lines.append(f"- `{e}`: {_g(float(np.nanmin(y)))} to {_g(float(np.nanmax(y)))} {units[e]} (median "
                     f"{_g(float(np.nanmedian(y)))}; at the set's values {_g(nominal)}); "
                     f"{extremes_sentence(first, e)}.")
    lines.append("")
    # local vs global
    lines += ["**Local vs global.** `endpoint_sensitivity` at the set's values (normalised coefficient "
              "d ln E / d ln p) of the parameters that lead the screen, with their rank among the "
              f"{len(first.parameters)} by |coefficient| and by `mu_star` (seed {seeds[0]}):", "",
              "| endpoint | parameter | global rank | mu_star | local rank | local coefficient |",
              "|---|---|---|---|---|---|"]
    summary = []
    for e in first.endpoints:
        w = _wide(first, e)
        glob = list(w.index)
        loc = ex.local[e].assign(size=ex.local[e]["normalized"].abs()).sort_values("size", ascending=False)
        local_rank = {p: k + 1 for k, p in enumerate(loc["parameter"])}
        coef = dict(zip(ex.local[e]["parameter"], ex.local[e]["normalized"]))
        for k, p in enumerate(glob[:TOP]):
            lines.append(f"| {e if k == 0 else ''} | `{p}` | {k + 1} | {_g(w.loc[p, 'mu_star'])} | "
                         f"{local_rank[p]} | {coef[p]:.3g} |")
        top_local = str(loc["parameter"].iloc[0])
        summary.append(f"- `{e}`: the global leader `{glob[0]}` is local rank {local_rank[glob[0]]}; the local "
                       f"leader `{top_local}` (coefficient {coef[top_local]:.3g}) is global rank "
                       f"{glob.index(top_local) + 1}.")
    lines += ["", *summary, ""]
    if ex.at_bound:
        lines += ["At the set's values, " + "; ".join(f"`{n}` sits on its {side} bound" for n, side in
                                                       ex.at_bound.items())
                  + " (a local derivative there looks at one side of the box only).", ""]
    lines += ["A local coefficient describes one point; the global screen says where in the box the answer could "
              "change. Where the two rankings differ, the parameter matters in parts of the box away from the "
              "set's values.", ""]
    return "\n".join(lines)


def write_worked_example(
    out_dir: str | Path = "docs",
    trajectories: int = 100,
    seeds: Sequence[int] = SEEDS,
    executor: Executor | str | None = None,
    model: Model | None = None,
) -> tuple[Path, Path, Path]:
    """Run the worked example and write its page, figure and table into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Folder of the page (created if needed); the committed page is ``docs/``. The figure
        and table go into its ``figures/`` subfolder.
    trajectories, seeds, executor, model
        As in :func:`run_worked_example`.

    Returns
    -------
    (Path, Path, Path)
        ``sensitivity_example.md``, ``figures/gsa_morris.png`` (the first seed) and
        ``figures/gsa_morris.csv`` (every seed: seed, endpoint, parameter, index, value, unit).
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    ex = run_worked_example(trajectories, seeds, executor, model)
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    page, figure, table = out / PAGE, out / FIGURE, out / TABLE
    page.write_text(example_markdown(ex), encoding="utf-8")
    first = ex.runs[sorted(ex.runs)[0]]
    fig = first.plot(top=10)
    fig.savefig(figure, dpi=110, metadata={"Software": None})
    plt.close(fig)
    frames = [ex.runs[s].to_frame().assign(seed=s) for s in sorted(ex.runs)]
    tidy = pd.concat(frames, ignore_index=True)
    tidy[["seed", *[c for c in tidy.columns if c != "seed"]]].to_csv(table, index=False, lineterminator="\n")
    return page, figure, table
