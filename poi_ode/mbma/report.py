"""``poi-ode evidence``: the evidence calibrations, their comparison and the page that reports them.

For each therapy (MSCs, MSC-derived vesicles) every therapy mechanism is fitted to the same published
pooled effects (overall, species and induction rows); the mechanisms are ranked by AIC. The best one is
then checked on the subgroups it was not fitted to (dose and route), and refitted the other way round
(on dose and route, predicting overall, species and induction). ``evidence.csv`` holds every row of the
best mechanism's calibration; ``evidence.md`` reports it with forest figures and the human values these
estimates translate to (:mod:`poi_ode.mbma.translation`).
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Sequence

from .._files import atomic_path, write_atomic
from ..errors import ParameterError
from .calibration import (
    HELD_OUT_KINDS,
    MECHANISM_FREE,
    MechanismFit,
    calibrate,
    compare_mechanisms,
    evidence_objective,
    prediction_band,
    split_values,
)
from .objective import CALIBRATION_KINDS, SPREAD_PRIOR
from .translation import Translation, translate_therapy

__all__ = ["run_evidence", "EVIDENCE_COLUMNS", "THERAPIES", "MUST_SHOW_ANALYTES", "coverage_of_must_show"]

THERAPIES = ("msc", "exosome")
EVIDENCE_COLUMNS = ("meta_analysis", "analyte", "subgroup", "measure", "published", "published_lower",
                    "published_upper", "predicted", "predicted_lower", "predicted_upper", "within_ci", "held_out")
"""The columns of ``evidence.csv`` named by issue 12 (more follow: therapy, mechanism, subgroup kind...)."""
MUST_SHOW_ANALYTES = ("E2", "FSH", "AMH")
"""Analytes of the coverage criterion: overall, species and induction rows of E2, FSH and AMH."""


def _rows(fit: MechanismFit, calibration: str):
    table = fit.objective.table(*split_values(fit.result.values))  # predicted and within_ci at the estimate
    table["predicted_lower"] = fit.lower
    table["predicted_upper"] = fit.upper
    table["mechanism"] = fit.mechanism
    table["calibration"] = calibration
    first = list(EVIDENCE_COLUMNS)
    return table[first + [c for c in table.columns if c not in first]]


def coverage_of_must_show(table) -> tuple[int, int]:
    """(predictions inside the published 95% CI, rows) among fitted E2, FSH and AMH rows of the overall,
    species and induction subgroups (random-effects rows; their fixed-effect twins are reported apart)."""
    rows = table[table["analyte"].isin(MUST_SHOW_ANALYTES) & table["subgroup_kind"].isin(CALIBRATION_KINDS)
                 & table["fitted"]]
    return int(rows["within_ci"].sum()), int(len(rows))


def _fmt(x: Any, digits: int = 2) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    return "" if math.isnan(v) else f"{v:.{digits}f}"


def run_evidence(out: str | Path, therapies: Sequence[str] = THERAPIES, draws: int = 30, seed: int = 0,
                 quick: bool = False, progress: bool = False) -> list[Path]:
    """Run the evidence calibrations and write ``evidence.md``, ``evidence.csv`` and figures into ``out``.

    Parameters
    ----------
    out : path
        Output folder (created).
    therapies : sequence of str
        ``"msc"`` and/or ``"exosome"``.
    draws : int
        Parameter draws behind each predicted interval.
    seed : int
        Seed of the draws.
    quick : bool
        Fewer draws (5) and no reverse held-out fit: a smoke run.
    progress : bool
        Print a line per fit.

    Returns
    -------
    list of Path
        The files written, the page first.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from .plots import plot_forest

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    draws = min(draws, 5) if quick else draws
    written: list[Path] = []
    tables, reverse_tables, comparisons, skipped, best_fits = [], [], [], [], {}
    t0 = time.perf_counter()
    for therapy in therapies:
        fits = compare_mechanisms(therapy, draws=draws, seed=seed)
        for f in fits:
            hits, total = f.coverage(held_out=False)
            h_hits, h_total = f.coverage(held_out=True)
            comparisons.append(dict(therapy=therapy, mechanism=f.mechanism, free=", ".join(MECHANISM_FREE[therapy][
                f.mechanism]), chi2=f.result.chi2, aic=f.aic, bic=f.bic, status=f.result.status,
                fitted=f"{hits} of {total}", held_out=f"{h_hits} of {h_total}"))
            if progress:
                print(f"{therapy} {f.mechanism}: AIC {f.aic:.2f}, fitted {hits}/{total}, held out {h_hits}/{h_total}")
        best = fits[0]
        best_fits[therapy] = best
        tables.append(_rows(best, "fitted on " + ", ".join(CALIBRATION_KINDS)))
        skipped += [dict(therapy=therapy, **s) for s in best.skipped]
        if not quick:
            objective, _ = evidence_objective(therapy, best.mechanism, HELD_OUT_KINDS)
            if objective.fitted:
                free = MECHANISM_FREE[therapy][best.mechanism]
                result = calibrate(objective, free, profiles=free, name=f"evidence_{therapy}_{best.mechanism}_reverse")
                predicted, lower, upper = prediction_band(result, objective, draws, seed)
                reverse = MechanismFit(therapy, best.mechanism, result, objective, predicted, lower, upper)
                reverse_tables.append(_rows(reverse, "fitted on " + ", ".join(HELD_OUT_KINDS)))
    table = pd.concat(tables, ignore_index=True)
    csv = out / "evidence.csv"
    with atomic_path(csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    written.append(csv)
    if reverse_tables:
        rev = pd.concat(reverse_tables, ignore_index=True)
        path = out / "evidence_reverse.csv"
        with atomic_path(path) as tmp:
            rev.to_csv(tmp, index=False, float_format="%.6g")
        written.append(path)
    else:
        rev = None
    for therapy, best in best_fits.items():
        fig = plot_forest(table[table["therapy"] == therapy],
                          f"{therapy}: published vs predicted pooled effects ({best.mechanism} mechanism)")
        path = out / f"evidence_forest_{therapy}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110)
        plt.close(fig)
        written.append(path)
    translations: list[Translation] | str
    try:
        translations = translate_therapy([best.result for best in best_fits.values()])
    except ParameterError as error:  # a rule missing or a value outside the human bounds: said on the page
        translations = str(error)
    page = out / "evidence.md"
    write_atomic(page, _page(table, rev, comparisons, skipped, best_fits, draws, quick) + _translation_section(
        translations))
    if progress:
        print(f"evidence calibration: {time.perf_counter() - t0:.1f} s")
    return [page, *written]


def _page(table, reverse, comparisons, skipped, best_fits, draws: int, quick: bool) -> str:
    hits, total = coverage_of_must_show(table)
    share = 100.0 * hits / total if total else float("nan")
    lines = [
        "# Therapy calibrated on the published pooled effects (model-based meta-analysis)",
        "",
        "Generated by `poi-ode evidence --out docs`" + (" --quick" if quick else "") + "; do not edit. "
        "The published pooled effects (standardised mean differences of treated against untreated POI animals) "
        "and the study designs behind them are bundled from `../shared/evidence/` by code "
        "(`preclinical_pooled_effects`, `preclinical_designs`). For every published row the model simulates the "
        "catalogued designs of its subgroup, treated and control, at their sampling day, forms each design's "
        "Hedges' g with a within-group coefficient of variation per analyte, pools them with the meta-analysis' "
        "weights (random effects: the between-study variance implied by the published I2) and compares the "
        "pooled prediction with the published estimate and 95% CI.",
        "",
        f"**Coverage:** {hits} of {total} fitted E2, FSH and AMH rows of the overall, species and induction "
        f"subgroups ({share:.0f}%) have the predicted pooled effect inside the published 95% CI.",
        "",
        "## Mechanisms compared",
        "",
        "Each mechanism is fitted to the same rows with its free therapy parameters and the within-group spreads. "
        "Niche repair and rescue contain the transient mechanism (the same signal also builds a durable repair, or "
        "also returns primordial follicles hit by chemotherapy, before they die, to the reserve), so they free the "
        "transient parameters and their own, and AIC and BIC charge them for them; the lowest AIC is the default of "
        "the report below. The rescue parameters (`rescue_max`, `t_half_prim_hit`) are follicle biology shared by "
        "both products: the MSC calibration estimates them, and the vesicle rows, with two simulable designs, use "
        "the values of the parameter sets (the committed MSC estimates).",
        "",
        "| therapy | mechanism | free | chi2 | AIC | BIC | status | fitted rows in CI | held-out rows in CI |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        lines.append(f"| {c['therapy']} | {c['mechanism']} | {c['free']} | {_fmt(c['chi2'])} | {_fmt(c['aic'])} | "
                     f"{_fmt(c['bic'])} | {c['status']} | {c['fitted']} | {c['held_out']} |")
    for therapy, best in best_fits.items():
        r = best.result
        lines += ["", f"## {therapy}: {best.mechanism}", "",
                  f"![forest](evidence_forest_{therapy}.png)", "",
                  "| parameter | estimate | 95% CI | identifiability |", "|---|---|---|---|"]
        for p in r.parameters:
            ci = f"{p.ci_low:.3g} - {p.ci_high:.3g}" if p.ci_low is not None and p.ci_high is not None else "none"
            lines.append(f"| {p.key} | {p.value:.3g} {p.unit} | {ci} | {p.identifiability} |")
        rows = table[table["therapy"] == therapy]
        lines += ["", "| meta-analysis | analyte | subgroup | pooling | published (95% CI) | predicted (95% band) | "
                  "in CI | held out | designs |", "|---|---|---|---|---|---|---|---|---|"]
        for _, x in rows.iterrows():
            lines.append(
                f"| {x['meta_analysis']} | {x['analyte']} | {x['subgroup']} | {x['pooling']} | "
                f"{_fmt(x['published'])} ({_fmt(x['published_lower'])} to {_fmt(x['published_upper'])}) | "
                f"{_fmt(x['predicted'])} ({_fmt(x['predicted_lower'])} to {_fmt(x['predicted_upper'])}) | "
                f"{'yes' if x['within_ci'] else 'no'} | {'yes' if x['held_out'] else ''} | {x['k_designs']} |")
        if r.warnings:
            lines += ["", "Fit notes:", ""] + [f"- {w}" for w in r.warnings]
    lines += ["", "## Held-out subgroups", ""]
    held = table[table["held_out"] & ~table["fixed_twin"]]
    lines.append(f"Fitted on the {', '.join(CALIBRATION_KINDS)} rows, the calibration predicts "
                 f"{int(held['within_ci'].sum())} of {len(held)} dose and route rows (random effects) inside their "
                 "published CI.")
    if reverse is not None:
        rev_held = reverse[reverse["held_out"] & ~reverse["fixed_twin"]]
        lines.append(f"Fitted the other way round (on the {', '.join(HELD_OUT_KINDS)} rows), it predicts "
                     f"{int(rev_held['within_ci'].sum())} of {len(rev_held)} overall, species and induction rows "
                     "(random effects) inside their CI (`evidence_reverse.csv`).")
    lines += ["", "## Rows left out", "", "| therapy | effect | analyte | subgroup | reason |", "|---|---|---|---|---|"]
    for s in skipped:
        lines.append(f"| {s['therapy']} | {s['effect_id']} | {s['analyte']} | {s['subgroup']} | {s['reason']} |")
    lines += [
        "", "## Assumptions", "",
        "- **Which designs a subgroup pools.** The meta-analyses do not list the studies of each subgroup; the "
        "catalogued designs of the same therapy that match the subgroup (species, route, 10-fold dose band) and "
        "measured the analyte stand for them (all matching designs where none lists the analyte). Fields a design "
        "leaves out are filled by the documented defaults of `poi_ode.mbma.designs` (listed per row in "
        "`defaulted_fields`).",
        f"- **Within-group spread.** {SPREAD_PRIOR['reason']}",
        "- **Species.** The therapy parameters are shared by the mouse and rat models (one value each); the rows "
        "by species test that assumption.",
        "- **Overlapping rows.** The overall row pools the studies of its species and dose rows, so the rows are "
        "not independent; the likelihood treats them as independent, which narrows the intervals.",
        "- **Intervals.** Parameter intervals of the therapy parameters come from their profile likelihoods; a "
        "predicted interval is the envelope of the predictions at every profile point inside the 95% likelihood "
        "threshold (parameter uncertainty only; the within-group spreads move along the profiles).",
    ]
    return "\n".join(lines) + "\n"


def _translation_section(translations: list[Translation] | str) -> str:
    """The page's section on the human values translated from these calibrations."""
    lines = ["", "## Translation to women", "",
             "No bundled study reports a treated woman's time course with a known dose, so the human set carries "
             "these estimates translated by the rules of `poi_ode.mbma.translation` (kind `translated`; written by "
             "`poi-ode translate --write` from the committed `fits/evidence_*_rodent`): secretion "
             "per cell or per µg scales with the per-ovary (per blood volume) density, ovarian mass and blood volume "
             "taken proportional to body weight, read at the design-weighted geometric mean of the mouse and rat "
             "body weights; half-lives and rates are kept (time exponent 0; quarter-power allometry is the "
             "alternative, `poi-ode translate --time-exponent 0.25`); fractions are copied. The mouse-only and "
             "rat-only readings bound the choice of reference species. Human predictions of MSC and exosome effects "
             "rest on these values.", ""]
    if isinstance(translations, str):
        return "\n".join(lines + [f"Not translated: {translations}"]) + "\n"
    lines += ["| parameter | rodent estimate (95% CI) | rule | factor | human | mouse-only | rat-only |",
              "|---|---|---|---|---|---|---|"]
    for t in translations:
        ci = f"{t.rodent_low:.3g} - {t.rodent_high:.3g}" if t.rodent_low is not None and t.rodent_high is not None \
            else "none"
        lines.append(f"| {t.name} | {t.rodent:.3g} ({ci}) {t.unit} | {t.rule} | {t.factor:.3g} | {t.value:.3g} | "
                     f"{t.value_mouse_only:.3g} | {t.value_rat_only:.3g} |")
    return "\n".join(lines) + "\n"
