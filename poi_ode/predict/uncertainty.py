"""Parameter draws for prediction bands, each kind labelled for tables and plots.

- ``"fit"``: parameter uncertainty of a calibration: the stored emcee samples, or draws from
  the covariance of the free parameters in their fitted (log10 or linear) scale.
- ``"population"``: between-subject variability of a virtual population: log-normal
  variation of chosen parameters around their values (coefficients of variation given; the
  defaults are assumptions).
- ``"assumptions"``: how much the answer depends on the values labelled ``assumption`` or
  ``translated`` (carried over from another species by an assumed scaling rule): each drawn
  log-normally around its value (sd 0.3 log10, within its bounds).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from ..fitting.nuisance import is_nuisance

if TYPE_CHECKING:  # pragma: no cover
    from ..fitting.result import FitResult
    from ..parameters import ParameterSet

__all__ = ["draw_parameters", "LABELS", "DEFAULT_POPULATION_CV", "ASSUMPTION_SD_LOG10"]

LABELS = {
    "none": "none (point prediction)",
    "fit": "parameter uncertainty (calibration)",
    "population": "between-subject variability (virtual population)",
    "assumptions": "sensitivity to assumed parameter values",
}

DEFAULT_POPULATION_CV = {"potency_msc": 0.5, "potency_exo": 0.5, "t_half_M_ov": 0.3, "k_act": 0.2, "p_protect": 0.2}
"""Assumed between-subject CVs of the virtual population (no variability data were seen)."""

ASSUMPTION_SD_LOG10 = 0.3
"""Spread (log10) of assumption-kind parameters around their values in the 'assumptions' draws."""
ASSUMED_KINDS = ("assumption", "translated")
"""Parameter kinds varied by the 'assumptions' band: a translated value rests on an assumed scaling rule."""


def _clip(pset: "ParameterSet", name: str, value: float) -> float:
    p = pset[name]
    return float(min(max(value, p.lower), p.upper))


def draw_parameters(
    base: "ParameterSet",
    kind: str,
    draws: int,
    seed: int,
    result: "FitResult | Sequence[FitResult] | None" = None,
    population: Mapping[str, float] | None = None,
    cov_scale: float = 1.0,
) -> list[dict[str, float]]:
    """``draws`` dictionaries of parameter values (in the set's units) of the given kind."""
    rng = np.random.default_rng(seed)
    if kind == "none" or draws == 0:
        return []
    if kind == "fit" and isinstance(result, (list, tuple)):  # several independent calibrations
        parts = [draw_parameters(base, kind, draws, seed + 7919 * k, r, population, cov_scale)
                 for k, r in enumerate(result)]
        return [dict(kv for part in row for kv in part.items()) for row in zip(*parts)]
    if kind == "fit":
        if result is None or isinstance(result, Sequence):  # a list or tuple of results went above
            raise ParameterError("uncertainty='fit' needs a FitResult (or use 'assumptions' or 'population')")
        params = [p for p in result.parameters if p.scope == "shared" and not is_nuisance(p.name)]
        if result.samples:
            names = result.samples["names"]
            values = np.array(result.samples["values"])
            rows = rng.integers(0, len(values), size=draws)
            return [{n: _clip(base, n, values[r, names.index(n)]) for n in (p.name for p in params)} for r in rows]
        if result.covariance is None:
            raise ParameterError(
                "the fit has no covariance (a flat direction): sample it with mcmc_steps, or use 'assumptions'"
            )
        from ..fitting.jacobian import gaussian_draws

        index = [result.parameters.index(p) for p in params]
        cov = np.array(result.covariance)[np.ix_(index, index)] * cov_scale
        theta = result.internal_estimate()[index]
        out = []
        for z in gaussian_draws(rng, theta, cov, draws):  # log-scale values clipped before exponentiation
            out.append({p.name: _clip(base, p.name, 10 ** min(x, 300.0) if p.scale == "log" else x)
                        for p, x in zip(params, z)})
        return out
    if kind == "population":
        cvs = dict(DEFAULT_POPULATION_CV if population is None else population)
        unknown = [n for n in cvs if n not in base]
        if unknown:
            raise ParameterError(f"population variability names unknown parameters {unknown}")
        out = []
        for _ in range(draws):
            row = {}
            for name, cv in cvs.items():
                sigma = math.sqrt(math.log(1 + cv**2))
                row[name] = _clip(base, name, base[name].value * math.exp(rng.normal(-sigma**2 / 2, sigma)))
            out.append(row)
        return out
    if kind == "assumptions":
        names = [n for n, p in base.parameters.items() if p.kind in ASSUMED_KINDS and p.value > 0]
        out = []
        for _ in range(draws):
            out.append({n: _clip(base, n, base[n].value * 10 ** rng.normal(0, ASSUMPTION_SD_LOG10)) for n in names})
        return out
    raise ParameterError(f"uncertainty must be one of {sorted(LABELS)}, not {kind!r}")


def describe(kind: str, population: Mapping[str, Any] | None = None) -> str:
    """One line saying what a band of this kind means."""
    if kind == "population":
        cvs = DEFAULT_POPULATION_CV if population is None else population
        return LABELS[kind] + " (log-normal CVs: " + ", ".join(f"{k} {v:.0%}" for k, v in cvs.items()) + ")"
    if kind == "assumptions":
        spread = f"sd {ASSUMPTION_SD_LOG10} log10"
        return LABELS[kind] + f" (each 'assumption' or 'translated' parameter log-normal, {spread})"
    return LABELS.get(kind, kind)
