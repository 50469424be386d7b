"""Calibration of the chemotherapy insult by agent and stage on the evidence sheet's dose-defined rows.

Each potency is computed by code from the validation targets (``poi_ode/validation/targets.csv``,
built from ``../shared/evidence/natural_history.csv``) and the bundled model, so the values the
parameter files carry can be recomputed and checked (``python -m poi_ode.fitting.insult``):

* mouse busulfan, primordial: "complete oocyte loss" after 40 mg/kg (review Table B) read as at
  most :data:`COMPLETE_LOSS` of the pool surviving;
* mouse cisplatin, primordial: rat primordial counts 7 days after 5 mg/kg (Terek 2004), transferred
  to the mouse per mg/kg (an assumption: no mouse dose-loss row);
* women, cyclophosphamide: the damage-driven atresia ``a_atr_D`` and the growing-follicle kill, on
  the cumulative daily oral dose at the onset of amenorrhoea in the 30s and 40s (Koyama 1977);
* women, doxorubicin standing for the whole ABVD dose, growing-follicle and primordial kill: the
  median AMH fall two weeks into lymphoma chemotherapy (ASH 2010 abstract 3813; ABVD in 51 of 80)
  and AMH a year after six cycles of ABVD in women under and over 35 (RATHL);
* busulfan and cisplatin, growing follicles: their primordial potency times cyclophosphamide's
  growing-to-primordial ratio (an assumption: no stage-resolved data);
* rat cyclophosphamide, primordial: Shiromizu 1984's ED50 in Sprague-Dawley rats is printed only as a
  lower bound (">500" mg/kg); a lower bound on the ED50 is an upper bound on the potency, and the rat
  set takes the potency *at* the bound (the largest consistent with the row: half the primordial pool
  left at day 7 after the bound dose in the rat model), labelled as such;
* rat cisplatin, primordial: the rat counts of Terek 2004 reproduced at day 7 in the rat model (a rat
  value, where the mouse takes it per mg/kg);
* rat, the other potencies: the mouse (or women's) values per mg/kg, labelled as an assumption;
* rat body weight and km: :func:`rat_body_potencies` reads the weights the rat designs state
  (``../shared/evidence/designs_*_preclinical.csv``) and scales the mouse km by body surface.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..parameters import ParameterSet

__all__ = ["COMPLETE_LOSS", "AMENORRHOEA_FRACTION", "ED50_DAY", "Potency", "amenorrhoea_onset", "calibrate_insult",
           "censored_lower_bound", "primordial_survival", "rat_body_potencies", "species_of", "write_potencies"]

COMPLETE_LOSS = 0.01
"""Surviving primordial fraction read as "complete oocyte loss": counting every fifth section of a
young mouse ovary (about 3,000 primordial follicles) finds none when fewer than about 1% remain."""

AMENORRHOEA_FRACTION = 1.0 / 3.0
"""Amenorrhoea in the model: fewer ovulations than one per three cycles (the ovulation rate below a
third of the quota), the 3-month definition of secondary amenorrhoea."""

KOYAMA_AGES = {"koyama_cy_amenorrhoea_30s": 35.0, "koyama_cy_amenorrhoea_40s": 45.0}
"""Age (years) standing for each decade of Koyama 1977 (the decade's middle)."""

RATHL_AGES = {"rathl_abvd_young_pct": 30.0, "rathl_abvd_old_pct": 40.0}
"""Ages (years) standing for RATHL's women under 35 and of 35 or over (an assumption: no ages printed)."""

BOUND_TOLERANCE = 1e-12
"""A fitted potency (kg/mg) below this is reported as its lower bound, 0."""

LYMPHOMA_AGE = 25.0
"""Age of the lymphoma cohort (ASH 2010 abstract 3813; the evidence row's age)."""

ED50_DAY = 7.0
"""Day after a single dose at which an ED50 of primordial destruction is read in the model (Shiromizu
1984: destruction complete 48-72 h after dosing; the mouse ED50 checks of the validation page read day 7)."""

RAT_DESIGN_FILES = ("designs_msc_preclinical.csv", "designs_ev_preclinical.csv")
"""The evidence sheets whose rat rows state the body weight of the animals (column ``species_strain``)."""

_WEIGHT = re.compile(r"(\d+(?:\.\d+)?)\s*\+/-\s*(\d+(?:\.\d+)?)\s*g\b")


@dataclass(frozen=True)
class Potency:
    """One calibrated value: parameter, value (in the parameter file's unit), how it was obtained."""

    parameter: str
    value: float
    unit: str
    derivation: str
    species: tuple[str, ...] = ()
    """Parameter files it goes to; empty: :data:`SPECIES_OF` (default human and mouse)."""
    kind: str = "fitted"
    """``kind`` written with it (``fitted``; ``derived`` or ``assumption`` for values taken over)."""


def censored_lower_bound(printed: str) -> float:
    """The bound of a value printed as a lower bound (``">500"`` gives 500.0).

    Raises
    ------
    ValueError
        If ``printed`` is not ``>`` followed by a number.
    """
    m = re.fullmatch(r"\s*>\s*(\d+(?:\.\d+)?)\s*", str(printed))
    if m is None:
        raise ValueError(f"expected a lower bound printed as '>number', got {printed!r}")
    return float(m.group(1))


def primordial_survival(model, agent: str, dose: float, params: Mapping[str, Any] | None = None,
                        day: float = ED50_DAY) -> float:
    """Primordial pool ``day`` days after one intraperitoneal dose (mg/kg), over the untreated pool.

    Parameters
    ----------
    model : Model
        A bundled model (its reference state is the start).
    agent : str
        Chemotherapy agent.
    dose : float
        Dose, mg/kg.
    params : mapping, optional
        Parameter changes.
    day : float
        Day of the reading (default :data:`ED50_DAY`).

    Returns
    -------
    float
        Surviving fraction (1).
    """
    import poi_ode as po

    from ..dosing import Dose

    times = [0.0, day]
    treated = po.simulate(model, [Dose(0.0, agent, dose, "mg/kg", "intraperitoneal")], times=times, params=params)
    control = po.simulate(model, None, times=times, params=params)
    return float(treated["F_prim"][-1] / control["F_prim"][-1])


def amenorrhoea_onset(model, params: "ParameterSet | Mapping[str, Any] | None", age: float, days: int = 240) -> float:
    """Cumulative cyclophosphamide (g) at the onset of amenorrhoea under 100 mg/day orally.

    The onset is the first day the ovulation rate falls below :data:`AMENORRHOEA_FRACTION` of the
    quota (linear interpolation between daily outputs); NaN if not reached within ``days``.
    """
    import poi_ode as po

    from ..protocols import protocol
    from ..simulate import resolve_parameters

    times = np.arange(0.0, days + 0.25, 0.25)
    traj = po.simulate(model, protocol("daily_oral_CY", days), times=times, params=params, initial="healthy", age=age)
    quota = float(resolve_parameters(model, params)["ovulation_quota"].in_unit("follicles/day"))
    rate = np.asarray(traj["ovulation_rate"]) - AMENORRHOEA_FRACTION * quota
    below = np.nonzero(rate < 0)[0]
    if not len(below) or below[0] == 0:
        return math.nan
    i = below[0]
    day = times[i - 1] + (times[i] - times[i - 1]) * rate[i - 1] / (rate[i - 1] - rate[i])
    return 0.1 * day  # 100 mg a day (continuous in the day, so the fit sees a smooth onset)


def _amh_ratio(model, params, regimen, age: float, day: float) -> float:
    import poi_ode as po

    times = [0.0, day]
    treated = po.simulate(model, regimen, times=times, params=params, initial="healthy", age=age)
    control = po.simulate(model, None, times=times, params=params, initial="healthy", age=age)
    return float(treated["AMH"][-1] / control["AMH"][-1])


def _amh_own_baseline(model, params, regimen, age: float, day: float) -> float:
    """AMH at ``day`` over the woman's own pre-treatment AMH (day 0)."""
    import poi_ode as po

    treated = po.simulate(model, regimen, times=[0.0, day], params=params, initial="healthy", age=age)
    return float(treated["AMH"][-1] / treated["AMH"][0])


def _root(f, lo: float, hi: float, log: bool = True, iterations: int = 60) -> float:
    """Bisection of a monotone ``f`` on [lo, hi] (geometric midpoints when ``log``)."""
    f_lo = f(lo)
    for _ in range(iterations):
        mid = math.sqrt(lo * hi) if log else 0.5 * (lo + hi)
        if (f(mid) > 0) == (f_lo > 0):
            lo, f_lo = mid, f(mid)
        else:
            hi = mid
    return math.sqrt(lo * hi) if log else 0.5 * (lo + hi)


def calibrate_insult(targets: Mapping[str, dict] | None = None) -> list[Potency]:
    """Compute the insult potencies from the targets and the bundled models.

    Parameters
    ----------
    targets : mapping, optional
        The validation targets by name (default: the bundled ``targets.csv``).

    Returns
    -------
    list of Potency
        In the order they are computed (later ones use earlier ones).
    """
    import lmfit

    import poi_ode as po

    from ..dosing import Dose
    from ..protocols import protocol
    from ..simulate import DAYS_PER_YEAR, resolve_parameters
    from ..validation.targets import load_targets

    t = dict(targets or load_targets())
    out: list[Potency] = []
    mouse, human = po.load_model("mouse"), po.load_model("human")

    # mouse busulfan, primordial: complete loss at 40 mg/kg
    kill_bus = math.log(1.0 / COMPLETE_LOSS) / 40.0
    out.append(Potency("kill_busulfan", kill_bus, "kg/mg",
                       f"ln(1/{COMPLETE_LOSS:g})/40: 'complete oocyte loss' after busulfan 40 mg/kg in mice (review "
                       "Table B) read as at most 1% of primordial follicles surviving"))

    # mouse cisplatin, primordial: rat day-7 survival after 5 mg/kg, per mg/kg
    survival = t["rat_cisplatin_primordial_5"]["value"] / t["rat_cisplatin_primordial_control"]["value"]

    def cis_gap(kappa: float) -> float:
        params = {"kill_cisplatin": kappa}
        times = [0.0, 7.0]
        treated = po.simulate(mouse, [Dose(0.0, "cisplatin", 5.0, "mg/kg", "intraperitoneal")], times=times,
                              params=params)
        control = po.simulate(mouse, None, times=times, params=params)
        return float(treated["F_prim"][-1] / control["F_prim"][-1]) - survival

    kill_cis = _root(cis_gap, 1e-4, 1.0)
    out.append(Potency("kill_cisplatin", kill_cis, "kg/mg",
                       f"primordial survival {survival:.3f} at day 7 after cisplatin 5 mg/kg in rats (Terek 2004, "
                       "13.9 vs 23.1 per section), reproduced at day 7 in the mouse model: rat potency per mg/kg "
                       "taken for the mouse (assumption)"))

    # women, cyclophosphamide: a_atr_D and the growing kill on Koyama's onsets
    observed = {name: t[name]["value"] for name in KOYAMA_AGES}

    def koyama_residuals(p: lmfit.Parameters) -> np.ndarray:
        params = {"a_atr_D": p["a_atr_D"].value, "kill_growing_cyclophosphamide": p["kill_growing"].value}
        res = []
        for name, age in KOYAMA_AGES.items():
            onset = amenorrhoea_onset(human, params, age)
            res.append(math.log(onset / observed[name]) if math.isfinite(onset) else 5.0)
        return np.array(res)

    start = lmfit.Parameters()
    start.add("a_atr_D", value=2.0, min=0.0, max=20.0)
    start.add("kill_growing", value=1e-3, min=0.0, max=0.1)
    fit = lmfit.minimize(koyama_residuals, start, method="least_squares", diff_step=1e-3)
    a_atr, kill_g_ctx = fit.params["a_atr_D"].value, fit.params["kill_growing"].value
    if kill_g_ctx < BOUND_TOLERANCE:  # at its lower bound: report the bound, not solver noise
        kill_g_ctx = 0.0
    onsets = {name: amenorrhoea_onset(human, {"a_atr_D": a_atr, "kill_growing_cyclophosphamide": kill_g_ctx}, age)
              for name, age in KOYAMA_AGES.items()}
    shown = "; ".join(f"{KOYAMA_AGES[n]:g} y: model {onsets[n]:.1f} g, published {observed[n]:g} g"
                      for n in KOYAMA_AGES)
    koyama = (f"calibrated in women at chemo_sensitivity 1, so the mouse takes the same value per mg/kg: least squares "
              f"on log cumulative dose at the onset of amenorrhoea (ovulations below one per three "
              f"cycles) under cyclophosphamide 100 mg/day orally, women of 35 and 45 y for Koyama 1977's 30s and "
              f"40s ({shown})")
    out.append(Potency("a_atr_D", a_atr, "1", koyama))
    out.append(Potency("kill_growing_cyclophosphamide", kill_g_ctx, "kg/mg", koyama + (
        "; at its lower bound 0: the onsets are reached by damage-driven atresia alone, and growing-follicle kill "
        "would bring them earlier" if kill_g_ctx == 0.0 else "")))

    # busulfan and cisplatin, growing: cyclophosphamide's ratio
    kill_ctx = float(resolve_parameters(mouse, None)["kill_cyclophosphamide"].in_unit("kg/mg"))
    ratio = kill_g_ctx / kill_ctx
    for agent, kill in (("busulfan", kill_bus), ("cisplatin", kill_cis)):
        out.append(Potency(f"kill_growing_{agent}", ratio * kill, "kg/mg",
                           f"its primordial potency times cyclophosphamide's growing-to-primordial ratio "
                           f"({ratio:.3g}; assumption: no stage-resolved data)"))

    # women, doxorubicin standing for ABVD: growing kill on the lymphoma AMH at day 14, primordial kill
    # on AMH a year after six cycles in women under and over 35 (RATHL)
    fall = t["lymphoma_amh_day14"]["value"] / t["lymphoma_amh_day0"]["value"]
    rathl = {name: t[name]["value"] / 100.0 for name in RATHL_AGES}
    base = {"a_atr_D": a_atr, "kill_growing_cyclophosphamide": kill_g_ctx}

    def abvd_predictions(kill_growing: float, kill: float) -> tuple[float, dict[str, float]]:
        params = {**base, "kill_growing_doxorubicin": kill_growing, "kill_doxorubicin": kill}
        day14 = _amh_ratio(human, params, protocol("ABVD", 1), LYMPHOMA_AGE, 14.0)
        own = {name: _amh_own_baseline(human, params, protocol("ABVD"), age, DAYS_PER_YEAR)
               for name, age in RATHL_AGES.items()}
        return day14, own

    def abvd_residuals(p: lmfit.Parameters) -> np.ndarray:
        day14, own = abvd_predictions(p["kill_growing"].value, p["kill"].value)
        return np.array([math.log(day14 / fall), *(math.log(own[n] / rathl[n]) for n in RATHL_AGES)])

    start = lmfit.Parameters()
    start.add("kill_growing", value=2.0, min=0.0, max=100.0)
    start.add("kill", value=0.1, min=0.0, max=10.0)
    fit = lmfit.minimize(abvd_residuals, start, method="least_squares", diff_step=1e-3)
    kill_g_dox, kill_dox = fit.params["kill_growing"].value, fit.params["kill"].value
    day14, own = abvd_predictions(kill_g_dox, kill_dox)
    shown = "; ".join(f"{RATHL_AGES[n]:g} y: model {100 * own[n]:.0f}%, published {100 * rathl[n]:.0f}%"
                      for n in RATHL_AGES)
    abvd = (f"calibrated in women at chemo_sensitivity 1 (the mouse takes it per mg/kg), doxorubicin standing for "
            f"the whole ABVD dose (bleomycin, vinblastine and dacarbazine lumped): least squares on log AMH at day 14 "
            f"of lymphoma chemotherapy against the untreated woman of {LYMPHOMA_AGE:g} y (model {day14:.3f}, "
            f"published {fall:.3f}: median 5 vs 15 pmol/L, ASH 2010 abstract 3813, ABVD in 51 of 80) and AMH a year "
            f"after starting six cycles of ABVD over the woman's own baseline (RATHL, women under 35 and 35 or over "
            f"run at 30 and 40 y: {shown})")
    out.append(Potency("kill_growing_doxorubicin", kill_g_dox, "kg/mg", abvd))
    out.append(Potency("kill_doxorubicin", kill_dox, "kg/mg", abvd))
    out += _rat_potencies(t, out, ratio)
    return out


def _rat_potencies(t: Mapping[str, dict], mouse: list[Potency], ratio: float) -> list[Potency]:
    """The rat's kills: cyclophosphamide at Shiromizu's ED50 bound, cisplatin on Terek's rat counts, the
    others as the mouse per mg/kg (labelled as assumptions)."""
    import poi_ode as po

    rat = po.load_model("rat")
    out: list[Potency] = []

    # cyclophosphamide, primordial: the ED50 is printed as a lower bound, an upper bound on the potency
    row = t["rat_ctx_ed50_shiromizu"]
    bound = censored_lower_bound(row["value_printed"])

    def ctx_gap(kappa: float) -> float:
        return primordial_survival(rat, "cyclophosphamide", bound, {"kill_cyclophosphamide": kappa}) - 0.5

    lo, hi = 1e-6, 0.1
    if ctx_gap(lo) <= 0.0 or ctx_gap(hi) >= 0.0:
        raise ValueError(f"rat cyclophosphamide: no potency in [{lo:g}, {hi:g}] kg/mg leaves half the primordial pool "
                         f"at day {ED50_DAY:g} after {bound:g} mg/kg (damage-driven loss alone may exceed half)")
    for _ in range(60):  # geometric bisection; keep the side consistent with the row (survival above one half)
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if ctx_gap(mid) > 0.0 else (lo, mid)
    out.append(Potency(
        "kill_cyclophosphamide", lo, "kg/mg",
        f"potency AT THE BOUND, an upper bound on the rat potency: Shiromizu 1984 prints the ED50 for primordial "
        f"oocyte destruction in {row['arm']} as '{row['value_printed']}' {row['unit']} (and the threshold dose as "
        f"above the same bound), so every potency leaving more than half the primordial pool at day {ED50_DAY:g} "
        f"after {bound:g} mg/kg is consistent with the row; the set takes the largest (half the pool left at "
        f"{bound:g} mg/kg in the rat model, damage-driven activation and atresia included); the true potency may "
        f"be much lower", ("rat",)))

    # cisplatin, primordial: Terek 2004's counts are rat counts
    survival = t["rat_cisplatin_primordial_5"]["value"] / t["rat_cisplatin_primordial_control"]["value"]
    kill_cis = _root(lambda k: primordial_survival(rat, "cisplatin", 5.0, {"kill_cisplatin": k}) - survival,
                     1e-4, 1.0)
    out.append(Potency("kill_cisplatin", kill_cis, "kg/mg",
                       f"primordial survival {survival:.3f} at day 7 after cisplatin 5 mg/kg in rats (Terek 2004, "
                       "13.9 vs 23.1 per section), reproduced at day 7 in the rat model", ("rat",)))
    out.append(Potency("kill_growing_cisplatin", ratio * kill_cis, "kg/mg",
                       f"its primordial potency times cyclophosphamide's growing-to-primordial ratio of the mouse "
                       f"and women ({ratio:.3g}; assumption: no stage-resolved data)", ("rat",)))

    # the rest: as the mouse per mg/kg
    taken = ("kill_busulfan", "kill_growing_cyclophosphamide", "kill_growing_busulfan", "kill_growing_doxorubicin",
             "kill_doxorubicin")
    for p in mouse:
        if p.parameter in taken:
            out.append(replace(p, species=("rat",), kind="assumption", derivation=(
                "as the mouse per mg/kg (no rat dose-loss row for this agent and stage in the evidence sheets); "
                f"the mouse value is fitted: {p.derivation}")))
    return out


def _rows_with_weights(evidence_dir: Path) -> list[tuple[str, str, str, float]]:
    """(file, study_id, species_strain, grams) of every rat design row stating a mean weight."""
    found = []
    for name in RAT_DESIGN_FILES:
        with (evidence_dir / name).open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            col, sid = header.index("species_strain"), header.index("study_id")
            for line in reader:
                text = line[col] if len(line) > col else ""
                if re.search(r"\brats?\b", text, re.I):
                    found += [(name, line[sid], text, float(m.group(1))) for m in _WEIGHT.finditer(text)]
    return found


def rat_body_potencies(evidence_dir: str | Path) -> list[Potency]:
    """The rat's body weight, read from the rat designs, and its km by body-surface scaling of the mouse km.

    Parameters
    ----------
    evidence_dir : str or Path
        The evidence folder (``../shared/evidence`` beside the repository).

    Returns
    -------
    list of Potency
        ``body_weight`` (kg): the median of the mean weights the rat rows of the design sheets state
        in their ``species_strain`` ("200+/-20 g"); ``km_factor`` (kg/m**2): the mouse set's km times
        (rat weight / mouse weight)^(1/3), body surface taken to scale as weight^(2/3) (an assumption).

    Raises
    ------
    ValueError
        If no rat design row states a weight.
    """
    from ..parameters import load_parameter_set

    rows = _rows_with_weights(Path(evidence_dir))
    if not rows:
        raise ValueError(f"no rat row of {', '.join(RAT_DESIGN_FILES)} in {evidence_dir} states a weight")
    weight = float(np.median([g for *_, g in rows])) / 1000.0
    shown = "; ".join(f"{sid} '{text}' ({name})" for name, sid, text, _ in rows)
    mouse = load_parameter_set("mouse")
    w_mouse, km_mouse = mouse["body_weight"].in_unit("kg"), mouse["km_factor"].in_unit("kg/m**2")
    km = km_mouse * (weight / w_mouse) ** (1.0 / 3.0)
    return [
        Potency("body_weight", weight, "kg",
                f"median of the mean weights the rat design rows state: {shown}", ("rat",), "derived"),
        Potency("km_factor", km, "kg/m**2",
                f"body surface taken to scale as weight^(2/3), so km = weight/surface as weight^(1/3): the mouse "
                f"km {km_mouse:g} kg/m2 at {w_mouse:g} kg times ({weight:g}/{w_mouse:g})^(1/3)", ("rat",),
                "assumption"),
    ]


SPECIES_OF = {"a_atr_D": ("human",)}
"""Parameter files a potency without its own ``species`` goes to (default: human and mouse; the kills are
mouse potencies per mg/kg, which each species scales by its ``chemo_sensitivity``). The rat's values are
separate :class:`Potency` rows with ``species=("rat",)``."""


def species_of(potency: Potency) -> tuple[str, ...]:
    """The parameter files ``potency`` is written to."""
    return potency.species or SPECIES_OF.get(potency.parameter, ("human", "mouse"))


def write_potencies(potencies: list[Potency], folder: str | Path | None = None,
                    species: tuple[str, ...] = ("human", "mouse", "rat")) -> list[str]:
    """Write the calibrated values into the parameter files (value, kind, source).

    Parameters
    ----------
    potencies : list of Potency
        From :func:`calibrate_insult` (or another calibration by code).
    folder : str or Path, optional
        Folder of the ``<species>.toml`` files (default: the bundled parameter files).
    species : tuple of str
        The parameter files to write (each potency goes only to those of :func:`species_of`).

    Returns
    -------
    list of str
        ``"species: parameter"`` for each block rewritten.
    """
    from ..parameters import parameter_file, rewrite_parameters

    written = []
    for name in species:
        path = Path(folder) / f"{name}.toml" if folder is not None else parameter_file(name)
        changes = {}
        for p in potencies:
            if name not in species_of(p):
                continue
            source = f"{p.kind}: {p.derivation}".replace('"', "'")
            if "(poi_ode." not in source:
                source += " (poi_ode.fitting.insult)"
            changes[p.parameter] = {"value": repr(float(p.value)), "kind": f'"{p.kind}"', "source": f'"{source}"'}
        if changes:
            written += [f"{name}: {parameter}" for parameter in rewrite_parameters(path, changes)]
    return written


def report_and_write(values: list[Potency], write: bool) -> None:  # pragma: no cover - a report for people
    """Print calibrated values (the command-line entry of a calibration by code) and write them if asked."""
    for p in values:
        print(f"{p.parameter} ({', '.join(species_of(p))}) = {p.value:.6g} {p.unit}\n    {p.derivation}")
    if write:
        print("\n".join(write_potencies(values)))


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - a report for people
    import argparse

    parser = argparse.ArgumentParser(description="Calibrate the chemotherapy potencies (issues 11, 12).")
    parser.add_argument("--write", action="store_true", help="write the values into the bundled parameter files")
    parser.add_argument("--evidence", default=str(Path("..") / "shared" / "evidence"),
                        help="evidence folder with the rat design sheets (default: ../shared/evidence)")
    args = parser.parse_args(argv)
    report_and_write(rat_body_potencies(args.evidence) + calibrate_insult(), args.write)


if __name__ == "__main__":  # pragma: no cover
    main()
