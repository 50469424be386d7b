"""Calibration of the virtual POI population and of the early-follicular estradiol share.

``python -m poi_ode.population.calibrate [--write]`` recomputes, from the bundled targets:

* ``E2_floor`` (human parameter set): the extra-ovarian estradiol, Kaur et al.'s mean after
  bilateral oophorectomy;
* ``e2_early_follicular_share`` (human parameter set): the share of cycle-averaged ovarian
  estradiol that makes the model's early-follicular estradiol of a woman of 22.5 y equal Jain
  2003's cycle-day-3 mean at 20-25 y;
* the population's reserve and dysfunction distributions (``poi_population.toml``): least squares
  on the baselines of Yan 2020 (FSH median and quartiles, AMH below 0.06 ng/mL in 45 of 61, AFC 0
  in 42 of 61) and the spontaneous resumption (24% over the follow-up, read as
  :data:`FOLLOW_UP_YEARS`, and 24% x 88% within a year; Bidet 2011 as quoted by the review), over a
  grid of virtual women interpolated in log space.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import logit, ndtr

from .definition import PoiPopulation, load_population, population_path
from .targets import load_population_targets

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["calibrate_e2_share", "e2_floor_from_evidence", "calibrate_population", "PopulationFit",
           "population_statistics", "GRID"]

GRID = {"reserve_log10": np.linspace(-4.0, math.log10(0.2), 15), "dysfunction_log10": np.linspace(-3.0, 4.0, 15)}
"""The grid of virtual women the calibration interpolates (log10 reserve fraction and dysfunction)."""

NORMALS = 4000
"""Virtual women of the calibration's Monte Carlo (fixed draws, so the objective is smooth)."""

SD_MAX = 2.0
"""Largest log10 standard deviation allowed (a 95% range of 8 decades)."""

YEAR = 365.25
"""Days per year."""

FOLLOW_UP_YEARS = 5.0
"""Follow-up (years) the published overall spontaneous resumption (24%) is read over: Bidet 2011's
follow-up length is not in the quote the evidence holds, so this is an assumption."""

JAIN_AGE = 22.5
"""Age (years) standing for Jain 2003's 20-25 y group."""


def e2_floor_from_evidence(model=None) -> tuple[float, str]:
    """The extra-ovarian estradiol ``E2_floor`` (the model's E2 unit), and where it comes from.

    The floor is what remains without ovaries: Kaur et al.'s mean serum estradiol after bilateral
    oophorectomy (surgical menopause), read from the bundled targets.
    """
    import poi_ode as po

    from ..units import conversion_factor
    from ..validation.targets import load_targets

    model = model or po.load_model("human")
    t = load_targets()["e2_surgical_menopause_kaur"]
    unit = model.units()["E2"]
    floor = t["value"] * conversion_factor(t["unit"], unit)
    return floor, (f"mean serum E2 after bilateral oophorectomy (surgical menopause), {t['value_printed']} "
                   f"{t['unit']} (SD {t['spread']}, n {t['n']}), {t['citation']} ({t['source_location']}; "
                   f"{t['evidence_file']} line {t['evidence_rows']}; confidence: {t['confidence']}). "
                   "It replaces 5 pg/mL (Verdonk 2019, not in the evidence sheets), which lay below every "
                   "postmenopausal and POI estradiol the sheets hold (poi_ode.population.calibrate)")


def calibrate_e2_share(model=None, floor: float | None = None) -> tuple[float, str]:
    """The early-follicular share of ovarian estradiol, and how it was obtained.

    Parameters
    ----------
    model : Model, optional
        The human model (default: the bundled one).
    floor : float, optional
        ``E2_floor`` to use (model's E2 unit; default: the parameter set's).
    """
    import poi_ode as po

    from ..validation.targets import load_targets

    model = model or po.load_model("human")
    pset = model.parameter_set
    if floor is None:
        floor = float(pset["E2_floor"].in_unit(model.units()["E2"]))
    else:
        pset = pset.with_values({"E2_floor": floor})
    t = load_targets()["e2_day3_20_25_jain"]
    traj = po.simulate(model, None, times=[0.0, 1.0], params=pset, initial="healthy", age=JAIN_AGE)
    e2 = float(traj["E2"][0])
    share = (t["value"] - floor) / (e2 - floor)
    return share, (f"Jain 2003 cycle-day-3 E2 at 20-25 y ({t['value_printed']} {t['unit']}, geometric mean, n "
                   f"{t['n']}) over the model's cycle-averaged E2 of a woman of {JAIN_AGE:g} y ({e2:.1f}), both above "
                   f"the floor E2_floor ({floor:.4g}) (poi_ode.population.calibrate)")


def _grid_values(model) -> dict[str, np.ndarray]:
    from .responders import simulate_women

    a, b = np.meshgrid(GRID["reserve_log10"], GRID["dysfunction_log10"], indexing="ij")
    women = [{"poi_reserve_fraction": 10.0 ** x, "dysfunction": 10.0 ** y} for x, y in zip(a.ravel(), b.ravel())]
    batch = simulate_women(model, model.parameter_set, women, None, [0.0, YEAR, FOLLOW_UP_YEARS * YEAR],
                           load_population().age)
    if any(e is not None for e in batch.errors):
        raise RuntimeError(f"virtual women failed: {[e for e in batch.errors if e is not None][:3]}")
    shape = a.shape
    ovulated = np.asarray(batch["F_ovulated"])
    first_year, follow_up = ovulated[:, 1] - ovulated[:, 0], ovulated[:, 2] - ovulated[:, 0]
    return {"FSH": np.log(batch["FSH"][:, 0]).reshape(shape), "AMH": np.log(batch["AMH"][:, 0]).reshape(shape),
            "AFC": np.log(batch["AFC"][:, 0]).reshape(shape),
            "ovulations": np.log(np.maximum(first_year, 1e-12)).reshape(shape),
            "ovulations_follow_up": np.log(np.maximum(follow_up, 1e-12)).reshape(shape)}


def population_statistics(population: PoiPopulation, grid: dict[str, np.ndarray], normals: np.ndarray) -> dict:
    """The population's baseline statistics and first-year spontaneous resumption (interpolated)."""
    from scipy.interpolate import RegularGridInterpolator

    x = np.clip(population.reserve_log10_mean + population.reserve_log10_sd * normals[:, 0],
                GRID["reserve_log10"][0], GRID["reserve_log10"][-1])
    y = np.clip(population.dysfunction_log10_mean + population.dysfunction_log10_sd * normals[:, 1],
                GRID["dysfunction_log10"][0], GRID["dysfunction_log10"][-1])
    points = np.column_stack([x, y])
    value = {k: RegularGridInterpolator((GRID["reserve_log10"], GRID["dysfunction_log10"]), v)(points)
             for k, v in grid.items()}
    fsh = value["FSH"] + population.fsh_sample_sd * normals[:, 2]
    q25, q50, q75 = np.exp(np.quantile(fsh, [0.25, 0.5, 0.75]))
    undetectable = ndtr((math.log(population.amh_detection_limit) - value["AMH"]) / max(population.amh_sample_sd, 1e-9))
    return {"fsh_median": q50, "fsh_q25": q25, "fsh_q75": q75, "amh_undetectable": float(undetectable.mean()),
            "afc_zero": float(np.exp(-np.exp(value["AFC"])).mean()),
            "resumption_first_year": float((-np.expm1(-np.exp(value["ovulations"]))).mean()),
            "resumption": float((-np.expm1(-np.exp(value["ovulations_follow_up"]))).mean())}


@dataclass
class PopulationFit:
    """The calibrated population and how well it meets each target."""

    population: PoiPopulation
    statistics: dict
    targets: dict
    source: str


def calibrate_population(model=None, seed: int = 0) -> PopulationFit:
    """Least squares of the reserve and dysfunction distributions on the population targets."""
    import lmfit

    import poi_ode as po

    model = model or po.load_model("human")
    start = load_population()
    t = load_population_targets()
    grid = _grid_values(model)
    normals = np.random.default_rng(seed).standard_normal((NORMALS, 3))
    goal = {"fsh_median": t["baseline_fsh_median"]["value"], "fsh_q25": t["baseline_fsh_median"]["low"],
            "fsh_q75": t["baseline_fsh_median"]["high"], "amh_undetectable": t["baseline_amh_undetectable"]["value"],
            "afc_zero": t["baseline_afc_zero"]["value"],
            "resumption_first_year": t["spontaneous_resumption_first_year"]["value"],
            "resumption": t["spontaneous_resumption"]["value"]}

    def residuals(p: lmfit.Parameters) -> np.ndarray:
        pop = start.with_values(**{k: p[k].value for k in p})
        s = population_statistics(pop, grid, normals)
        out = [math.log(s[k] / goal[k]) for k in ("fsh_median", "fsh_q25", "fsh_q75")]
        out += [logit(np.clip(s[k], 1e-6, 1 - 1e-6)) - logit(goal[k])
                for k in ("amh_undetectable", "afc_zero", "resumption_first_year", "resumption")]
        return np.array(out)

    params = lmfit.Parameters()
    params.add("reserve_log10_mean", value=-2.5, min=-4.0, max=-0.7)
    params.add("reserve_log10_sd", value=0.4, min=0.05, max=SD_MAX)
    params.add("dysfunction_log10_mean", value=0.5, min=-3.0, max=4.0)
    params.add("dysfunction_log10_sd", value=0.5, min=0.05, max=SD_MAX)
    fit = lmfit.minimize(residuals, params, method="least_squares", diff_step=1e-3)
    pop = start.with_values(**{k: fit.params[k].value for k in fit.params})
    stats = population_statistics(pop, grid, normals)
    shown = "; ".join(f"{k} {stats[k]:.3g} (target {goal[k]:.3g})" for k in goal)
    at_bound = [k for k in fit.params if abs(fit.params[k].value - fit.params[k].max) < 1e-6 * SD_MAX
                or abs(fit.params[k].value - fit.params[k].min) < 1e-6]
    if at_bound:
        shown += f"; at a bound: {', '.join(at_bound)} (the data want a wider, two-class spread)"
    source = (f"calibrated by poi_ode.population.calibrate: least squares on Yan 2020's baselines and the spontaneous "
              f"resumption within 1 and {FOLLOW_UP_YEARS:g} years (population_targets.csv), {NORMALS} fixed virtual "
              f"women interpolated on a {GRID['reserve_log10'].size} x {GRID['dysfunction_log10'].size} grid: {shown}")
    return PopulationFit(pop, stats, goal, source)


def write_population(fit: PopulationFit, path: str | Path | None = None) -> None:
    """Write the calibrated distribution into the population file (values and sources)."""
    path = Path(path) if path is not None else population_path()
    text = path.read_text(encoding="utf-8")
    for name in ("reserve_log10_mean", "reserve_log10_sd", "dysfunction_log10_mean", "dysfunction_log10_sd"):
        value = getattr(fit.population, name)
        text, count = re.subn(rf"^{name} = .*$",
                              lambda _m: f'{name} = {{ value = {value!r}, source = "{fit.source}" }}',
                              text, count=1, flags=re.M)
        if count != 1:
            raise KeyError(f"{path.name}: no line {name} = ...")
    path.write_text(text, encoding="utf-8")


def write_e2(floor: tuple[float, str], share: tuple[float, str], path: str | Path | None = None) -> None:
    """Write ``E2_floor`` and ``e2_early_follicular_share`` (value, how obtained) into the human parameter file."""
    from ..fitting.insult import Potency, write_potencies

    folder = Path(path) if path is not None else None
    write_potencies([Potency("E2_floor", floor[0], "pg/mL", floor[1], kind="literature"),
                     Potency("e2_early_follicular_share", share[0], "1", share[1])], folder, species=("human",))


def desensitisation_grid(fsh_values=(25.0, 35.0, 50.0, 70.0), exponents=(1, 2, 4)) -> "pd.DataFrame":
    """The SWAN change points of the model for each FSH_desensitisation and desensitisation_exponent.

    Slow (one natural history per cell, about 10 s each). Returns one row per cell with the six
    change points (years from FMP), their squared deviation from SWAN's and the validation rows
    passed; the bundled values are the cell of least deviation.
    """
    import pandas as pd

    from ..parameters import load_parameter_set
    from ..validation.checks import run_checks
    from ..validation.targets import load_targets

    targets = load_targets()
    swan = {"FSH rise onset": "swan_fsh_onset", "FSH rise acceleration": "swan_fsh_acceleration",
            "FSH rise deceleration": "swan_fsh_deceleration", "FSH plateau reached": "swan_fsh_plateau",
            "E2 decline onset": "swan_e2_onset", "E2 nadir reached": "swan_e2_nadir"}
    rows = []
    for fsh in fsh_values:
        for n in exponents:
            pset = load_parameter_set("human").with_values(FSH_desensitisation=fsh)
            structure = {**pset.info.get("structure", {}), "desensitisation_exponent": int(n)}
            pset = replace(pset, info={**pset.info, "structure": structure})
            frame = run_checks(("human",), params={"human": pset})
            row = {"FSH_desensitisation": fsh, "desensitisation_exponent": n, "passed": int(frame["passed"].sum())}
            deviation = 0.0
            for label, target in swan.items():
                value = float(frame.loc[frame["check"] == f"{label} (relative to FMP)", "model"].iloc[0])
                row[label] = value
                deviation += (value - targets[target]["value"]) ** 2
            row["squared_deviation"] = deviation
            rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - a report for people
    import argparse

    parser = argparse.ArgumentParser(description="Calibrate the virtual POI population (issue 11).")
    parser.add_argument("--write", action="store_true", help="write the values into the bundled files")
    args = parser.parse_args(argv)
    floor = e2_floor_from_evidence()
    share = calibrate_e2_share(floor=floor[0])
    print(f"E2_floor = {floor[0]:.6g}\n    {floor[1]}\ne2_early_follicular_share = {share[0]:.6g}\n    {share[1]}")
    if args.write:
        write_e2(floor, share)
    fit = calibrate_population()
    for name in ("reserve_log10_mean", "reserve_log10_sd", "dysfunction_log10_mean", "dysfunction_log10_sd"):
        print(f"{name} = {getattr(fit.population, name):.6g}")
    print(fit.source)
    if args.write:
        write_population(fit)


if __name__ == "__main__":  # pragma: no cover
    main()
