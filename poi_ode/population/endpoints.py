"""Responder endpoints: per-woman probabilities of an event in a window (issue 11).

The model is cycle-averaged, so events are read as probabilities:

* ``ovulation``: at least one ovulation in the window, with ovulations a Poisson process at the
  model's ovulation rate: ``1 - exp(-N)``, ``N`` the expected ovulations (the increase of the
  cumulative sink ``F_ovulated``). A menstrual bleed follows an ovulation after the luteal phase,
  so this is also "resumed menses" (withdrawal bleeding without ovulation is not modelled).
* ``fsh_below_25_twice``: FSH below 25 IU/L on two consecutive monthly samples (the clinical
  reversal of the POI criterion, FSH > 25 IU/L on two samples a month apart). Each sample is the
  model's FSH times a log-normal sampling error (the population's ``fsh_sample_sd``); the
  probability that some pair of consecutive samples is below the cut-off is computed exactly.
* ``e2_above_50``: early-follicular estradiol (``E2_early_follicular``) above 50 pg/mL on at least
  one monthly sample, with the population's ``e2_sample_sd``.

Sampling is monthly (every 30.4375 days) from the window's start.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ..errors import ParameterError

__all__ = ["RESPONDER_ENDPOINTS", "responder_endpoint", "OvulationEvent", "TwoSamplesBelow", "SampleAbove",
           "MONTH"]

MONTH = 30.4375
"""Days between samples (a mean month)."""


def _sample_days(start: float, end: float) -> np.ndarray:
    return start + MONTH * np.arange(int(math.floor((end - start) / MONTH + 1e-9)) + 1)


def _column(tr, name: str, days: np.ndarray) -> np.ndarray:
    """Values of ``name`` at ``days`` (which must be output days), shape (..., len(days))."""
    idx = np.searchsorted(tr.time, days - 1e-9)
    if np.any(idx >= tr.time.size) or not np.allclose(tr.time[np.minimum(idx, tr.time.size - 1)], days, atol=1e-6):
        raise ParameterError(f"the trajectory lacks the sampling days of the endpoint ({days[0]:g}-{days[-1]:g})")
    return np.asarray(tr[name])[..., idx]


@dataclass(frozen=True)
class OvulationEvent:
    """Probability of at least one ovulation in [start, end] (days)."""

    start: float
    end: float

    @property
    def name(self) -> str:
        return "ovulation"

    def times(self) -> list[float]:
        return [self.start, self.end]

    def __call__(self, tr, population=None) -> np.ndarray:
        n = _column(tr, "F_ovulated", np.array([self.start, self.end]))
        expected = np.maximum(n[..., 1] - n[..., 0], 0.0)
        return -np.expm1(-expected)


def _sample_probabilities(tr, variable: str, threshold: float, start: float, end: float, sd: float,
                          above: bool) -> np.ndarray:
    """Per monthly sample, the probability that a sample (the model's level times a log-normal error of
    log-scale SD ``sd``) lies above (or below) ``threshold``; shape (..., samples)."""
    days = _sample_days(start, end)
    level = np.maximum(_column(tr, variable, days), 1e-300)
    if sd <= 0:
        return (level > threshold if above else level < threshold).astype(float)
    z = (np.log(level) - math.log(threshold)) / sd
    return ndtr(z if above else -z)


@dataclass(frozen=True)
class TwoSamplesBelow:
    """Probability that two consecutive monthly samples of ``variable`` are below ``threshold``."""

    variable: str
    threshold: float
    start: float
    end: float
    label: str

    @property
    def name(self) -> str:
        return self.label

    def times(self) -> list[float]:
        return list(_sample_days(self.start, self.end))

    def __call__(self, tr, population) -> np.ndarray:
        p = _sample_probabilities(tr, self.variable, self.threshold, self.start, self.end, population.fsh_sample_sd,
                                  above=False)
        # a two-state chain over the samples: no pair yet and the last sample below / not below
        last_below = p[..., 0]
        last_above = 1.0 - p[..., 0]
        for k in range(1, p.shape[-1]):
            below_now = last_above * p[..., k]
            last_above = (last_above + last_below) * (1.0 - p[..., k])
            last_below = below_now
        return 1.0 - (last_below + last_above)


@dataclass(frozen=True)
class SampleAbove:
    """Probability that at least one monthly sample of ``variable`` is above ``threshold``."""

    variable: str
    threshold: float
    start: float
    end: float
    label: str

    @property
    def name(self) -> str:
        return self.label

    def times(self) -> list[float]:
        return list(_sample_days(self.start, self.end))

    def __call__(self, tr, population) -> np.ndarray:
        p = _sample_probabilities(tr, self.variable, self.threshold, self.start, self.end, population.e2_sample_sd,
                                  above=True)
        return 1.0 - np.prod(1.0 - p, axis=-1)


RESPONDER_ENDPOINTS = {
    "ovulation": "at least one ovulation (and so an ovulatory bleed) in the window",
    "fsh_below_25_twice": "FSH below 25 IU/L on two consecutive monthly samples in the window",
    "e2_above_50": "early-follicular estradiol above 50 pg/mL on at least one monthly sample in the window",
}
"""The responder endpoints by name, with what each means."""


def responder_endpoint(name: str, start: float, end: float):
    """The endpoint object of ``name`` over the window [start, end] (days)."""
    if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end):
        raise ParameterError(f"responder window must satisfy 0 <= start < end (got {start:g}-{end:g} days)")
    if name == "ovulation":
        return OvulationEvent(float(start), float(end))
    if name == "fsh_below_25_twice":
        if end - start < MONTH:
            raise ParameterError(f"{name} needs a window of at least a month (got {end - start:g} days)")
        return TwoSamplesBelow("FSH", 25.0, float(start), float(end), name)
    if name == "e2_above_50":
        return SampleAbove("E2_early_follicular", 50.0, float(start), float(end), name)
    raise ParameterError(f"unknown responder endpoint {name!r}; known: {', '.join(RESPONDER_ENDPOINTS)}")
