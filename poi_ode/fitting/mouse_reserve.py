"""The mouse reserve calibrated by code on its published exhaustion age (issue 10, item 4).

Gosden 1983 (C57BL/6J, ``../shared/evidence/natural_history.csv``): primordial plus growing
follicles are nearly exhausted at 13-14 months. Read as :data:`EXHAUSTION_FRACTION` of their count at
the set's reference age (8 weeks), the validation page's reading, at the middle of the printed range.

The starting values put 3,000 primordial follicles at 8 weeks (an assumption: no absolute count was
seen) and derived ``k_act`` as if the AMH restraint were neutral. The restraint releases as the pool
falls, so the pool ran out at 10.1 months (review, Table A, row 'Mouse (C57BL/6) reserve'). The
calibration keeps the activation flux of the 8-week mouse, ``k_act x F_prim_start``, so every
growing pool, AMH, AFC and FSH of the reference state stay as they were (and with them every
calibration made on them), and chooses the split: a larger pool activated at a lower rate per
follicle. The rat takes the mouse values (an assumption, labelled; no rat anchor in the evidence).

``python -m poi_ode.fitting.mouse_reserve [--write]`` recomputes the values and writes them into the
parameter files; ``tests/test_insult.py`` checks the bundled values against a rerun.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .insult import Potency, report_and_write

if TYPE_CHECKING:  # pragma: no cover
    from ..model.core import Model

__all__ = ["EXHAUSTION_FRACTION", "calibrate_mouse_reserve", "exhaustion_age", "exhaustion_months"]

EXHAUSTION_FRACTION = 0.1
"""'Nearly exhausted' read as this fraction of the primordial + growing count at the reference age."""

MONTHS_PER_YEAR = 12.0


def exhaustion_months(ages: np.ndarray, pool: np.ndarray, reference_age: float,
                      fraction: float = EXHAUSTION_FRACTION) -> float:
    """Age (months) at which ``pool`` first falls below ``fraction`` of its value at ``reference_age``.

    Parameters
    ----------
    ages : array, years
        Increasing ages of a natural history.
    pool : array, follicles
        Primordial + growing follicles at those ages.
    reference_age : float, years
        Age of the reference count.
    fraction : float
        Share of the reference count that counts as exhausted.

    Returns
    -------
    float
        Months, interpolated linearly between output ages; NaN if the pool never falls that low.
    """
    ages, pool = np.asarray(ages, dtype=float), np.asarray(pool, dtype=float)
    level = fraction * float(np.interp(reference_age, ages, pool))
    below = pool < level
    if not below.any():
        return math.nan
    k = int(np.argmax(below))
    if k == 0:
        return float(ages[0] * MONTHS_PER_YEAR)
    age = ages[k - 1] + (level - pool[k - 1]) / (pool[k] - pool[k - 1]) * (ages[k] - ages[k - 1])
    return float(age * MONTHS_PER_YEAR)


def exhaustion_age(model: "Model", params: Mapping[str, Any] | None = None, until_months: float = 24.0,
                   step_days: float = 3.0) -> float:
    """Months at which the untreated mouse's primordial + growing follicles fall below
    :data:`EXHAUSTION_FRACTION` of their count at the set's reference age (NaN if not by ``until_months``)."""
    from ..simulate import natural_history, reference_age

    traj = natural_history(model, until_months / MONTHS_PER_YEAR, params=params, step_days=step_days)
    pool = np.asarray(traj["F_prim"]) + np.asarray(traj["growing"])
    return exhaustion_months(np.asarray(traj["age"]), pool, float(reference_age(model.require_parameter_set())))


def calibrate_mouse_reserve(targets: Mapping[str, dict] | None = None) -> list[Potency]:
    """``k_act`` and ``F_prim_start`` of the mouse (and the rat, as mouse) from Gosden 1983's exhaustion age.

    Parameters
    ----------
    targets : mapping, optional
        The validation targets by name (default: the bundled ``targets.csv``); uses
        ``mouse_exhaustion_age`` (printed range, months).

    Returns
    -------
    list of Potency
        ``k_act`` and ``F_prim_start`` for the mouse, then the same for the rat.
    """
    import poi_ode as po

    from ..validation.targets import load_targets
    from .insult import _root

    t = dict(targets or load_targets())["mouse_exhaustion_age"]
    goal = 0.5 * (float(t["low"]) + float(t["high"]))
    model = po.load_model("mouse")
    pset = model.require_parameter_set()
    k0, n0 = pset["k_act"].value, pset["F_prim_start"].value
    flux = k0 * n0

    def gap(pool: float) -> float:
        months = exhaustion_age(model, {"k_act": flux / pool, "F_prim_start": pool})
        return (months if math.isfinite(months) else 1e3) - goal

    # the pools whose rate flux / pool stays within k_act's bounds
    lo = max(pset["F_prim_start"].lower, flux / pset["k_act"].upper)
    hi = min(pset["F_prim_start"].upper, flux / pset["k_act"].lower)
    if gap(lo) > 0 or gap(hi) < 0:
        raise ValueError(f"no F_prim_start in [{lo:g}, {hi:g}] puts the mouse's exhaustion at {goal:g} months")
    pool = _root(gap, lo, hi, iterations=40)
    rate = flux / pool
    source = (f"{t['citation']} ({t['evidence_file']} rows {t['evidence_rows']}; printed '{t['value_printed']}' "
              "months)")
    why = (f"with k_act x F_prim_start held at {flux:.6g} activations/day (the 8-week reference state's flux, so its "
           f"growing pools, AMH, AFC and FSH are unchanged), primordial + growing follicles fall to "
           f"{EXHAUSTION_FRACTION:g} of their 8-week count at {goal:g} months, the middle of the near-exhaustion age "
           f"of {source}; before: 3,000 follicles at 8 weeks (no count seen) and a k_act derived as if the AMH "
           "restraint were neutral, which ran out at 10.1 months (review Table A) (poi_ode.fitting.mouse_reserve)")
    out = [Potency("k_act", rate, "1/day", f"calibrated by code: {why}", ("mouse",)),
           Potency("F_prim_start", pool, "follicles", f"calibrated by code: {why}", ("mouse",))]
    out += [Potency(p.parameter, p.value, p.unit,
                    f"as mouse (no rat anchor in ../shared/evidence); mouse: {p.derivation}", ("rat",),
                    kind="assumption") for p in out]
    return out


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - a report for people
    import argparse

    parser = argparse.ArgumentParser(description="Calibrate the mouse reserve on its exhaustion age (issue 10).")
    parser.add_argument("--write", action="store_true", help="write the values into the bundled parameter files")
    report_and_write(calibrate_mouse_reserve(), parser.parse_args(argv).write)


if __name__ == "__main__":  # pragma: no cover
    main()
