"""The virtual POI population checks (issue 11): baselines and spontaneous resumption.

The population is simulated woman by woman (not the interpolated grid its calibration uses), so
these rows check the calibration as well as report it. Published numbers come from
``poi_ode/population/population_targets.csv``, read by code from the evidence and the review.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import ndtr

from ..data.analytes import analyte_factor
from .base import Check, _Rows, _Subject

ISSUE = "issue 11 acceptance criterion"

WOMEN = 400
"""Virtual women simulated for the checks."""


def _source(t: dict) -> str:
    return f"{t['citation']} ({t['file']} line {t['line']}: {t['read_from']}; confidence: {t['confidence']})"


def _human(s: _Subject, targets: dict[str, dict]) -> list[Check]:
    from ..population import load_population, responder_fraction
    from ..population.responders import simulate_women
    from ..population.targets import load_population_targets

    r = _Rows("human", targets)
    t = load_population_targets()
    pop = load_population()

    def baseline():
        def compute():
            women = pop.women(WOMEN, seed=1)
            batch = simulate_women(s.model, s.pset, women, None, [0.0], pop.age)
            normals = np.random.default_rng(2).standard_normal((WOMEN, 2))
            fsh = np.asarray(batch["FSH"][:, 0]) * np.exp(pop.fsh_sample_sd * normals[:, 0])
            amh = np.asarray(batch["AMH"][:, 0])
            return {"fsh": np.quantile(fsh, [0.25, 0.5, 0.75]), "fsh_mean": float(fsh.mean()),
                    "amh_undetectable": float(ndtr((np.log(pop.amh_detection_limit) - np.log(amh))
                                                   / max(pop.amh_sample_sd, 1e-9)).mean()),
                    "afc_zero": float(np.exp(-np.asarray(batch["AFC"][:, 0])).mean()),
                    "e2": np.quantile(np.asarray(batch["E2_early_follicular"][:, 0]), [0.25, 0.5, 0.75])}
        return s._cached("poi_baseline", compute)

    fsh_t = t["baseline_fsh_median"]

    def fsh_median():
        q = baseline()["fsh"]
        return q[1], fsh_t["low"] <= q[1] <= fsh_t["high"], f"model quartiles {q[0]:.1f}, {q[1]:.1f}, {q[2]:.1f} IU/L"

    r.add("baseline FSH of the virtual POI population", f"median FSH of {WOMEN} virtual women at baseline, one sample "
          "each (population sampling SD)", "within the published IQR (calibration target)", "IU/L", _source(fsh_t),
          fsh_median, published=fsh_t["value"], low=fsh_t["low"], high=fsh_t["high"])

    pof_t = t["pof_fsh_mean"]

    def fsh_mean():
        x = baseline()["fsh_mean"]
        outside = not pof_t["low"] <= fsh_t["value"] <= pof_t["high"]
        return x, pof_t["low"] <= x <= pof_t["high"], (
            f"the calibration target's median {fsh_t['value']:g} IU/L (row above, Yan 2020) lies "
            + ("outside" if outside else "inside") + " this cohort's 95% interval"
            + (": the two published cohorts conflict" if outside else ""))

    r.add("baseline FSH against a second POI cohort", f"mean FSH of the same {WOMEN} virtual women, one sample each",
          "within the published mean's 95% interval (mean +/- 1.96 SD / sqrt(n)); an independent cohort (premature "
          "ovarian failure, n = 25), not a calibration target", "IU/L", _source(pof_t), fsh_mean,
          published=pof_t["value"], low=pof_t["low"], high=pof_t["high"])

    e2_t = t["baseline_e2_median"]

    def e2_median():
        q = baseline()["e2"] * analyte_factor("E2", s.unit("E2"), e2_t["unit"])
        return q[1], e2_t["low"] <= q[1] <= e2_t["high"], (
            f"model quartiles {q[0]:.1f}, {q[1]:.1f}, {q[2]:.1f} {e2_t['unit']}; without ovarian estradiol a woman has "
            f"E2_floor, {s.pset['E2_floor'].in_unit(s.unit('E2')):g} {s.unit('E2')}")

    r.add("baseline E2 of the virtual POI population", f"median early-follicular E2 of the same {WOMEN} virtual women "
          "at baseline (model output E2_early_follicular, no sampling noise)", "within the published IQR; not a "
          "calibration target", e2_t["unit"], _source(e2_t), e2_median, published=e2_t["value"], low=e2_t["low"],
          high=e2_t["high"])

    for key, name, what in (("baseline_amh_undetectable", "amh_undetectable", "AMH below the detection limit"),
                            ("baseline_afc_zero", "afc_zero", "no antral follicle seen (Poisson count of the AFC)")):
        target = t[key]

        def frac(name=name, target=target):
            x = baseline()[name]
            return x, abs(x - target["value"]) <= 0.1, ""

        r.add(f"{what}: fraction of the virtual POI population", f"fraction of {WOMEN} virtual women at baseline "
              f"with {what}", "within 0.10 of the published fraction (calibration target)", "1", _source(target), frac,
              published=target["value"])

    for key, years in (("spontaneous_resumption_first_year", 1.0), ("spontaneous_resumption", 5.0)):
        target = t[key]

        def resumed(years=years, target=target):
            res = responder_fraction(s.model, None, pop, "ovulation", (0.0, 365.25 * years), n=WOMEN, seed=3)
            x = res.untreated_fraction
            tolerance = 0.05 if years == 1.0 else 0.10
            return x, abs(x - target["value"]) <= tolerance, (
                f"band {res.untreated_lower:.3f}-{res.untreated_upper:.3f} ({res.band})" + (
                    "; the published 24% is over the study's follow-up, read here as 5 years (follow-up length not "
                    "in the quote)" if years > 1 else ""))

        r.add(f"untreated POI women resume within {years:g} year{'s' if years > 1 else ''}",
              f"fraction of {WOMEN} untreated virtual women with at least one ovulation within {years:g} y of baseline",
              f"within {'0.05 (calibration target)' if years == 1.0 else '0.10'} of the published fraction", "1",
              f"{ISSUE}; " + _source(target), resumed, published=target["value"])
    return r.rows


def _none(s: _Subject, targets: dict[str, dict]) -> list[Check]:
    return []


BUILDERS: dict[str, Callable[[_Subject, dict], list[Check]]] = {"human": _human, "mouse": _none}
"""The population checks by species (the virtual POI population is human)."""
