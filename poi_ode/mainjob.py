"""The main job (``poi-ode run``): calibrate on the bundled data, predict, and report.

1. Runs every calibration config shipped with the package (the repository's ``fits/*.toml``,
   :func:`~poi_ode.fitting.config.shipped_configs_folder`), or of a folder given, on the
   bundled published data.
2. Predicts, for a woman of 30 with idiopathic POI (the population of the bundled clinical
   series), the dose-response of intraovarian MSCs and exosomes given at day 0. Three
   separately labelled bands are drawn:
   - parameter uncertainty of the calibrations;
   - between-subject variability (a virtual population);
   - sensitivity to the values labelled assumption.
3. Fits Emax models, compares regimens, reports responder fractions in the virtual POI
   population (treated and untreated), and simulates the primordial reserve over ten years.
4. Writes ``report.md`` with figures and CSV/JSON tables, saying plainly what the data cannot
   identify.

Every file is written whole or not at all (a temporary file, then a rename), and ``report.md``
last: a report in the output folder means the run finished (one left from an earlier run is
removed when a new run starts).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._files import atomic_path, write_atomic

if TYPE_CHECKING:  # pragma: no cover
    from .predict import DoseResponse

__all__ = ["run_main_job", "calibration_configs", "SCENARIO"]

SCENARIO: dict[str, Any] = dict(species="human", initial="poi", background="", treat_day=0.0, age=30.0)
"""Idiopathic POI at 30 (Edessy 2016 treated women of 26-33 y), treatment at day 0."""
ENDPOINTS = ["AMH@90", "FSH@90", "AUC:AMH@0-365", "FSH<25@0-365", "AFC@90", "resumed:E2>50@0-365", "F_prim@5y"]
"""Endpoints of the main job (human units; 25 IU/L and 50 pg/mL are the POI criteria of the sourcebook)."""


RESPONDER_DOSES = {"msc": ([5e6, 1e7, 1.5e7], "cells"), "exosome": ([100.0, 500.0, 2000.0], "ug")}
"""Doses of the responder table: the intraovarian MSC doses of the clinical series (5e6-1.5e7 cells) and
exosome doses of the preclinical range."""
RESPONDER_WINDOW = (0.0, 365.0)
"""Days in which a responder endpoint is read (the first year after treatment)."""
RESPONDER_WOMEN = 100
"""Virtual POI women of the responder table."""
RESPONDER_DRAWS = 5
"""Largest number of parameter draws behind the responder band (each draw simulates every woman)."""


def calibration_configs(fits: str | Path | None = None) -> list[Path]:
    """The calibration configs the main job runs: ``fits/*.toml`` of a folder, or the shipped ones.

    Parameters
    ----------
    fits : path, optional
        A folder of ``NAME.toml`` configs (``--fits``); default: the configs shipped with the
        package, found from any working directory.

    Raises
    ------
    PoiOdeError
        If the folder holds no config.
    """
    from .errors import PoiOdeError
    from .fitting.config import shipped_configs_folder

    folder = shipped_configs_folder() if fits is None else Path(fits)
    configs = sorted(folder.glob("*.toml"))
    if not configs:
        raise PoiOdeError(f"no calibration configs in {folder}/: pass --fits a folder of NAME.toml configs, or leave "
                          "it out to run the configs shipped with poi_ode")
    return configs


def run_main_job(out: Path, fits: Path | None = None, draws: int = 40, seed: int = 0, executor=None,
                 progress: bool = False) -> list[Path]:
    """Run the main job; return the files written (report first).

    Parameters
    ----------
    out : path
        Output folder (created).
    fits : path, optional
        Folder of calibration configs; default: the ones shipped with the package
        (:func:`calibration_configs`).
    draws, seed, executor, progress
        Parameter draws per band, their seed, the executor of the simulations and progress bars.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .data import parse_regimen
    from .fitting.config import run_config
    from .model import load_model
    from .predict import compare_regimens, dose_response
    from .simulate import simulate

    t0 = time.perf_counter()
    out = Path(out)
    configs = calibration_configs(fits)
    out.mkdir(parents=True, exist_ok=True)
    for marker in ("report.md", "summary.json"):  # an earlier run's: gone until this run completes
        (out / marker).unlink(missing_ok=True)
    written: list[Path] = []

    def figure(fig, name: str) -> None:
        with atomic_path(out / name) as tmp:
            fig.savefig(tmp, dpi=110)
        plt.close(fig)
        written.append(out / name)

    def table(frame, name: str) -> None:
        with atomic_path(out / name) as tmp:
            frame.to_csv(tmp, index=False)
        written.append(out / name)

    model = load_model(SCENARIO["species"])
    fits_done = []
    for config in configs:
        result = run_config(config, out / "fits" / config.stem)
        fits_done.append(result)
    usable = [r for r in fits_done if r.status != "failed" and r.species == SCENARIO["species"]
              and r.config.get("use_in_predictions", True)]
    background = parse_regimen(SCENARIO["background"])
    common: dict[str, Any] = dict(background=background, schedule=[SCENARIO["treat_day"]], age=SCENARIO["age"],
                                  seed=seed, initial=SCENARIO["initial"], executor=executor, progress=progress,
                                  model=model)

    grids = {"msc": (np.geomspace(1e6, 1e8, 9), "cells"), "exosome": (np.geomspace(10, 1e4, 9), "ug")}
    kinds = ["fit", "population", "assumptions"]
    responses: dict[tuple[str, str], DoseResponse] = {}
    for agent, (doses, unit) in grids.items():
        for kind in kinds:
            responses[(agent, kind)] = dose_response(
                usable, agent, doses, "intraovarian", ENDPOINTS, unit=unit, draws=draws, uncertainty=kind, **common
            )
    tables, emax_tables = [], []
    for (agent, kind), dr in responses.items():
        tables.append(dr.table)
        emax_tables.append(dr.emax().assign(agent=agent))
        for effect, suffix in ((False, ""), (True, "_effect")):
            figure(dr.plot(effect=effect), f"dose_response_{agent}_{kind}{suffix}.png")
    import pandas as pd

    dr_table = pd.concat(tables, ignore_index=True)
    emax_table = pd.concat(emax_tables, ignore_index=True)
    table(dr_table, "dose_response.csv")
    table(emax_table, "emax.csv")
    minimum = [responses[(a, k)].minimum_dose("FSH@90", 25.0, "below") | dict(agent=a, uncertainty=k)
               for a in grids for k in kinds]
    table(pd.DataFrame(minimum), "minimum_dose.csv")

    # regimen comparison, assumption sensitivity as the band
    d = SCENARIO["treat_day"]
    po_dose = _doses
    regimens = {
        "MSC 1e7 io, single": po_dose([(d, "msc", 1e7, "cells", "intraovarian")]),
        "MSC 2 x 5e6 io, 30 d apart": po_dose([(d, "msc", 5e6, "cells", "intraovarian"),
                                               (d + 30, "msc", 5e6, "cells", "intraovarian")]),
        "MSC 1e7 io, monthly x 3": po_dose([(d + 30 * k, "msc", 1e7, "cells", "intraovarian") for k in range(3)]),
        "MSC 1e7 iv, single": po_dose([(d, "msc", 1e7, "cells", "intravenous")]),
        "MSC 1e7 depot, single": po_dose([(d, "msc", 1e7, "cells", "depot")]),
        "MSC 1e7 io, delayed 90 d": po_dose([(d + 90, "msc", 1e7, "cells", "intraovarian")]),
        "exosome 500 ug io, single": po_dose([(d, "exosome", 500, "ug", "intraovarian")]),
        "exosome 500 ug io, weekly x 6": po_dose([(d + 7 * k, "exosome", 500, "ug", "intraovarian") for k in range(6)]),
        "exosome 500 ug depot, single": po_dose([(d, "exosome", 500, "ug", "depot")]),
        "no treatment": po_dose([]),
    }
    comparison = compare_regimens(usable, regimens, ["AUC:AMH@0-365", "FSH<25@0-365", "AMH@180", "F_prim@5y"],
                                  background=background, age=SCENARIO["age"], initial=SCENARIO["initial"],
                                  draws=draws, uncertainty="assumptions", reference="no treatment",
                                  seed=seed, executor=executor, progress=progress, model=model)
    table(comparison.table, "regimens.csv")
    figure(comparison.plot(), "regimens.png")

    # responder fractions in the virtual POI population (issue 11)
    from .population import plot_responders, responder_table

    responder_draws = min(draws, RESPONDER_DRAWS)
    responders = pd.concat([
        responder_table(usable, agent, doses, route="intraovarian", unit=unit, schedule=[SCENARIO["treat_day"]],
                        window=RESPONDER_WINDOW, n=RESPONDER_WOMEN, draws=responder_draws if usable else 0, seed=seed,
                        model=model)
        for agent, (doses, unit) in RESPONDER_DOSES.items()], ignore_index=True)
    table(responders, "responders.csv")
    for agent in RESPONDER_DOSES:
        figure(plot_responders(responders[responders["agent"] == agent]), f"responders_{agent}.png")

    # long-term reserve under the activation hypothesis
    base = _fitted_set(model, usable)
    years = np.linspace(0, 10 * 365.25, 121)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    reserve_rows = []
    for b in (0.0, base["b_act_P"].value, base["b_act_P"].upper):
        params = base.with_values(b_act_P=b)
        for label, reg in (("untreated", background),
                           ("MSC 1e7 io monthly x 3", background + regimens["MSC 1e7 io, monthly x 3"])):
            tr = simulate(model, reg, times=years, params=params, age=SCENARIO["age"], initial=SCENARIO["initial"])
            style = "-" if label != "untreated" else ":"
            ax.plot(years / 365.25, tr["F_prim"], style, label=f"{label}, b_act_P = {b:g}")
            reserve_rows.append(dict(b_act_P=b, arm=label, F_prim_5y=float(np.interp(5 * 365.25, years, tr["F_prim"])),
                                     F_prim_10y=float(tr["F_prim"][-1])))
    ax.set_yscale("log")
    ax.set_xlabel("Years after treatment")
    ax.set_ylabel("Primordial follicles [follicles]")
    ax.set_title("Reserve after treatment: paracrine activation of primordial follicles (b_act_P)", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    figure(fig, "reserve.png")
    reserve = pd.DataFrame(reserve_rows)
    table(reserve, "reserve.csv")

    wall = time.perf_counter() - t0
    summary = write_atomic(out / "summary.json", json.dumps(dict(
        wall_time_s=wall, draws=draws, seed=seed,
        calibrations=[dict(name=r.config["name"], status=r.status, parameters={p.key: p.value for p in r.parameters})
                      for r in fits_done]), indent=1))
    report = write_atomic(out / "report.md",  # last: its presence means the run completed
                          _report(fits_done, responses, emax_table, minimum, comparison, reserve, responders, draws,
                                  wall, [p for p in base.parameters.values() if p.kind == "translated"]))
    return [report, summary, *written]


def _doses(items):
    from .dosing import Dose, Regimen

    return Regimen([Dose(*item) for item in items])


def _fitted_set(model, fits):
    base = model.parameter_set
    for r in fits:
        base = r.parameter_set(base)
    return base


def _md_table(frame, columns, floatfmt="{:.3g}") -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        cells = []
        for c in columns:
            v = row[c]
            cells.append(floatfmt.format(v) if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _translated_rows(translated) -> list[str]:
    """A table of the human values translated from the rodent calibration (kind ``translated``)."""
    import pandas as pd

    if not translated:
        return ["No value of the human set is translated from the rodent calibration."]
    frame = pd.DataFrame([dict(parameter=p.name, value=p.value, unit=p.unit, source=p.source) for p in translated])
    return [_md_table(frame, ["parameter", "value", "unit", "source"])]


def _report(fits, responses, emax_table, minimum, comparison, reserve, responders, draws, wall, translated) -> str:
    import pandas as pd

    lines = [
        "# poi_ode main job: calibration and dose-response",
        "",
        f"Generated by `poi-ode run` in {wall:.0f} s ({draws} parameter draws per band).",
        "",
        "## What the data can and cannot say",
        "",
        "- The untreated woman is calibrated on natural-history data: follicle counts from birth to 51 y, AMH by "
        "age and hormones by age group (`human_natural_history`, with one view per source). **Every initial state "
        "of this report is integrated from birth on that calibrated course** (the woman of 30 is the woman born "
        "with the calibrated reserve, 30 years later), not placed on an anchor line. How far that course meets "
        "the published natural history is on the validation page (`docs/validation.md`).",
        "- The other bundled data are few: AMH elimination after oophorectomy (Griesinger 2012) and the "
        "baselines of two small clinical MSC series read from secondary sources. **None of them reports a "
        "post-treatment time course with a known dose.**",
        "- **The MSC and exosome effects of this report rest on the rodent calibration.** The therapy parameters "
        "were calibrated on the pooled effects of the preclinical meta-analyses (mouse and rat after "
        "chemotherapy; `docs/evidence.md`, `poi-ode evidence`) and carried over to women by stated rules "
        "(`poi_ode.mbma.translation`): secretion per cell or per µg scaled by the per-ovary density (ovarian "
        "mass and blood volume proportional to body weight), half-lives and rates kept, fractions copied. Those "
        "values, kind `translated` in `poi_ode/parameters/human.toml`, are listed below. Whether rodent "
        "responses after chemotherapy carry over to idiopathic POI in women is untested; the other couplings "
        "(paracrine, cytokine, repair, activation) remain labelled assumptions.",
        "- Three bands say how far the curves could move: parameter uncertainty of the calibrations of this run "
        "(narrow for the therapy: they calibrate the natural history, the AMH half-life and the POI reserve), "
        "between-subject variability of an assumed virtual population, and sensitivity to every value labelled "
        "assumption or translated (wide: this is the honest band).",
        "- Each translated value's source gives the rodent estimate's interval and identifiability: an estimate "
        "whose profile is open on one side is bounded by the rodent evidence on the other side only. Clinical "
        "intraovarian doses are far sparser per gram of ovary than rodent ones, so a rodent response that "
        "saturates across the published doses need not saturate in women.",
        "",
        *_translated_rows(translated),
        "",
        "## Calibrations",
        "",
    ]
    for r in fits:
        lines += [f"### {r.config['name']}", "", r.config.get("description", ""), "",
                  f"Status **{r.status}**; {r.n_observations} observations; chi2 {r.chi2:.3g}; {r.wall_time_s:.1f} s.",
                  "",
                  *r.parameter_rows(), ""]
        lines += [f"- {w}" for w in r.warnings] + ["", f"![fit](fits/{r.config['name']}/fit.png)", ""]
    lines += [
        "## Dose-response (woman of 30 with idiopathic POI, intraovarian treatment at day 0)",
        "",
        "The POI baseline keeps a fraction of the age-matched primordial reserve, `poi_reserve_fraction`, calibrated "
        "on the FSH and AMH of the clinical baselines with the castrate FSH at its literature value. Endpoints: AMH "
        "and FSH at day 90, AMH AUC "
        "over the first year, days with FSH below the POI threshold of 25 IU/L, antral follicle count at day 90, "
        "whether estradiol rises above 50 pg/mL (cycle-resumption indicator), primordial reserve at 5 years.",
        "",
    ]
    for (agent, kind), dr in responses.items():
        lines += [f"### {agent}, band: {dr.uncertainty_note}", "",
                  f"![{agent} {kind}](dose_response_{agent}_{kind}.png)", "",
                  f"Effect against no treatment (the band paired within draws): ![{agent} {kind} effect]"
                  f"(dose_response_{agent}_{kind}_effect.png)", ""]
    lines += ["### Effect at 1e7 cells and 1e3 ug (against no treatment, paired within each draw)", ""]
    rows = []
    for (agent, kind), dr in responses.items():
        t = dr.table
        pick = t["dose"].sub(1e7 if agent == "msc" else 1e3).abs()
        t = t[pick == pick.min()]
        rows.append(t[t["endpoint"].isin(["AMH@90", "FSH@90", "FSH<25@0-365"])].assign(band=kind))
    lines += [_md_table(pd.concat(rows), ["agent", "dose", "endpoint", "band", "control", "effect", "effect_lower",
                                         "effect_upper"]), ""]
    lines += ["### Emax summaries (Hill fits; intervals from the draws of each band)", ""]
    show = emax_table[emax_table["endpoint"].isin(["AMH@90", "FSH@90", "AUC:AMH@0-365"])]
    lines += [_md_table(show, ["agent", "endpoint", "uncertainty", "Emax", "Emax_lower", "Emax_upper", "ED50",
                               "ED50_lower", "ED50_upper", "hill", "dose_unit"]), ""]
    lines += ["### Smallest dose reaching FSH < 25 IU/L at day 90", "",
              _md_table(pd.DataFrame(minimum), ["agent", "uncertainty", "nominal", "median", "lower", "upper",
                                                "share_reaching"]), "",
              "NaN: not reached within the dose grid. `share_reaching` is the share of draws reaching the target.", ""]
    lines += ["## Regimens", "", f"Band: {comparison.uncertainty_note}.", "", "![regimens](regimens.png)", "",
              "Effect against no treatment, paired within each draw (the draws move baseline and effect together):", "",
              _md_table(comparison.table[comparison.table["endpoint"].isin(["AUC:AMH@0-365", "FSH<25@0-365"])],
                        ["regimen", "endpoint", "unit", "nominal", "effect", "effect_lower", "effect_upper"]), ""]
    lines += ["## Responders in the virtual POI population", "",
              f"{RESPONDER_WOMEN} virtual women with idiopathic POI (residual reserve and FSH-desensitisation severity "
              "drawn from the population calibrated on Yan 2020's baselines and the spontaneous resumption rate; "
              "`docs/poi_ovary.md`), treated intraovarially at day 0 and followed for "
              f"days {RESPONDER_WINDOW[0]:g}-{RESPONDER_WINDOW[1]:g}; the same women untreated give the spontaneous "
              f"fraction. Band: {responders['band'].iloc[0]}.", "",
              "**The treated fractions follow from the MSC and exosome parameters translated from the rodent "
              "calibration** (above); the population varies the residual reserve and dysfunction, not the therapy "
              "parameters.", "",
              *[f"![responders {agent}](responders_{agent}.png)" for agent in RESPONDER_DOSES], "",
              _md_table(responders, ["agent", "dose", "unit", "endpoint", "fraction", "lower", "upper",
                                     "untreated_fraction"]), ""]
    lines += ["## Long-term reserve", "",
              "If MSC paracrine factors activate primordial follicles (`b_act_P` > 0, an assumption MODEL.md asks the "
              "model to be able to show), treatment spends reserve that is missed years later.", "",
              "![reserve](reserve.png)", "", _md_table(reserve, ["b_act_P", "arm", "F_prim_5y", "F_prim_10y"]), ""]
    return "\n".join(lines) + "\n"
