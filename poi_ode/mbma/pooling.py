"""Pooling of study effects: inverse-variance fixed effect and DerSimonian-Laird random effects.

The formulas are the standard ones (Borenstein, Hedges, Higgins & Rothstein 2009, *Introduction
to Meta-Analysis*, chapters 4, 11-12 and 16; DerSimonian & Laird 1986, Control Clin Trials 7:177).
For ``k`` effects ``y_i`` with within-study variances ``v_i``:

* fixed effect: weights ``w_i = 1/v_i``, estimate ``sum(w y)/sum(w)``, SE ``1/sqrt(sum(w))``;
* heterogeneity: ``Q = sum(w (y - y_fixed)^2)`` with ``k - 1`` degrees of freedom,
  ``I2 = max(0, (Q - (k-1))/Q)`` (0 when ``Q = 0``);
* DerSimonian-Laird: ``tau2 = max(0, (Q - (k-1))/C)``, ``C = sum(w) - sum(w^2)/sum(w)``;
  random-effects weights ``1/(v_i + tau2)``.

Effect sizes carry the units of their measure (a standardised mean difference is in SD units,
a log ratio is dimensionless); variances are in squared units of the effect. ``I2`` is a
fraction in [0, 1) here (published values in percent are divided by 100).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import special, stats

from ..errors import ParameterError

__all__ = [
    "Pooled",
    "smd_variance",
    "hedges_correction",
    "pool_fixed",
    "pool_random",
    "tau2_from_I2",
    "se_from_ci",
    "RANDOM_METHODS",
]

#: estimators of the between-study variance that :func:`pool_random` knows
RANDOM_METHODS = ("DL",)


@dataclass(frozen=True)
class Pooled:
    """A pooled effect.

    Attributes
    ----------
    estimate : float
        Pooled effect, in the units of the effects pooled.
    se : float
        Its standard error (same units).
    ci_low, ci_high : float
        Normal-approximation confidence interval at the level asked for (same units).
    tau2 : float
        Between-study variance used in the weights (0 for a fixed-effect pool), squared units.
    I2 : float
        Share of the total variation due to heterogeneity, a fraction in [0, 1).
    Q : float
        Cochran's heterogeneity statistic (fixed-effect weights), ``k - 1`` degrees of freedom.
    k : int
        Number of effects pooled.
    weights : tuple of float
        Normalised weights of the effects (sum 1), in input order.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float
    I2: float
    Q: float
    k: int
    weights: tuple[float, ...]


def _z(level: float) -> float:
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ParameterError(f"level: {level!r} is not a confidence level in (0, 1), e.g. 0.95")
    return float(stats.norm.ppf(0.5 + level / 2))


def _arrays(effects: "Sequence[float] | np.ndarray", variances: "Sequence[float] | np.ndarray"
            ) -> tuple[np.ndarray, np.ndarray]:
    try:
        y = np.asarray(effects, dtype=float).ravel()
        v = np.asarray(variances, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"effects and variances must be numbers: {exc}") from None
    if y.size == 0:
        raise ParameterError("effects: nothing to pool (k = 0)")
    if y.size != v.size:
        raise ParameterError(f"effects has {y.size} values but variances has {v.size}")
    for name, a in (("effects", y), ("variances", v)):
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            raise ParameterError(f"{name}[{bad[0]}] is {a[bad[0]]}: not finite")
    bad = np.flatnonzero(v <= 0)
    if bad.size:
        raise ParameterError(f"variances[{bad[0]}] is {v[bad[0]]:g}: a within-study variance must be > 0")
    return y, v


def _heterogeneity(y: np.ndarray, v: np.ndarray) -> tuple[float, float, float]:
    """(Q, I2, C) of the fixed-effect weights."""
    w = 1.0 / v
    mean = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - mean) ** 2))
    df = y.size - 1
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    return q, i2, c


def _pool(y: np.ndarray, v: np.ndarray, tau2: float, level: float) -> Pooled:
    z = _z(level)
    q, i2, _ = _heterogeneity(y, v)
    w = 1.0 / (v + tau2)
    estimate = float(np.sum(w * y) / np.sum(w))
    se = float(1.0 / math.sqrt(np.sum(w)))
    return Pooled(estimate, se, estimate - z * se, estimate + z * se, float(tau2), i2, q, int(y.size),
                  tuple(float(x) for x in w / np.sum(w)))


def smd_variance(d: float | np.ndarray, n1: float | np.ndarray, n2: float | np.ndarray) -> float | np.ndarray:
    """Large-sample variance of a standardised mean difference (Cohen's d or Hedges' g).

    ``v = (n1 + n2)/(n1 n2) + d^2 / (2 (n1 + n2))`` (Borenstein et al. 2009, eq. 4.20; for
    Hedges' g multiply by ``J^2``, :func:`hedges_correction`, as eq. 4.24 does).

    Parameters
    ----------
    d : float or array
        The standardised mean difference (SD units).
    n1, n2 : float or array
        Group sizes (animals per arm), each >= 1 (sum > 2).

    Returns
    -------
    float or array
        Variance of ``d`` (squared SD units).
    """
    d, n1, n2 = (np.asarray(x, dtype=float) for x in (d, n1, n2))
    if np.any(~np.isfinite(d)):
        raise ParameterError("d: not finite")
    if np.any(~(n1 >= 1)) or np.any(~(n2 >= 1)):
        raise ParameterError(f"n1, n2: group sizes must be >= 1 (got n1={n1}, n2={n2})")
    out = (n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2))
    return float(out) if out.ndim == 0 else out


def hedges_correction(n1: float | np.ndarray, n2: float | np.ndarray) -> float | np.ndarray:
    """Hedges' small-sample correction ``J`` (``g = J d``), exact form.

    ``J = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))`` with ``m = n1 + n2 - 2`` degrees of freedom
    (Hedges 1981); about ``1 - 3/(4m - 1)`` (Borenstein et al. 2009, eq. 4.22).

    Parameters
    ----------
    n1, n2 : float or array
        Group sizes, with ``n1 + n2 > 2``.

    Returns
    -------
    float or array
        ``J`` in (0, 1), dimensionless.
    """
    n1, n2 = np.asarray(n1, dtype=float), np.asarray(n2, dtype=float)
    m = n1 + n2 - 2
    if np.any(~(m > 0)) or np.any(~(n1 >= 1)) or np.any(~(n2 >= 1)):
        raise ParameterError(f"n1, n2: need group sizes >= 1 with n1 + n2 > 2 (got n1={n1}, n2={n2})")
    out = np.exp(special.gammaln(m / 2) - special.gammaln((m - 1) / 2)) / np.sqrt(m / 2)
    return float(out) if out.ndim == 0 else out


def pool_fixed(effects: Sequence[float], variances: Sequence[float], level: float = 0.95) -> Pooled:
    """Inverse-variance fixed-effect (common-effect) pool.

    Parameters
    ----------
    effects : sequence of float
        Study effects (units of the measure).
    variances : sequence of float
        Their within-study variances (squared units), each > 0.
    level : float
        Confidence level of the interval (default 0.95).

    Returns
    -------
    Pooled
        With ``tau2 = 0``; ``Q`` and ``I2`` describe the heterogeneity all the same.

    Raises
    ------
    ParameterError
        If there is nothing to pool, the lengths differ, a value is not finite or a variance <= 0.
    """
    y, v = _arrays(effects, variances)
    return _pool(y, v, 0.0, level)


def pool_random(effects: Sequence[float], variances: Sequence[float], method: str = "DL",
                tau2: float | None = None, level: float = 0.95) -> Pooled:
    """Random-effects pool: DerSimonian-Laird, or a between-study variance given.

    Parameters
    ----------
    effects : sequence of float
        Study effects (units of the measure).
    variances : sequence of float
        Their within-study variances (squared units), each > 0.
    method : str
        Estimator of ``tau2``: ``"DL"`` (DerSimonian-Laird, method of moments). Ignored when
        ``tau2`` is given.
    tau2 : float, optional
        A between-study variance to use instead of estimating one (>= 0, squared units), e.g.
        from :func:`tau2_from_I2`.
    level : float
        Confidence level of the interval (default 0.95; normal approximation, as DerSimonian-Laird).

    Returns
    -------
    Pooled

    Raises
    ------
    ParameterError
        As :func:`pool_fixed`; also an unknown ``method`` or a negative or non-finite ``tau2``.
    """
    y, v = _arrays(effects, variances)
    if tau2 is None:
        if method not in RANDOM_METHODS:
            raise ParameterError(f"method: {method!r} is not one of {RANDOM_METHODS}")
        q, _, c = _heterogeneity(y, v)
        tau2 = max(0.0, (q - (y.size - 1)) / c) if c > 0 else 0.0
    else:
        try:
            tau2 = float(tau2)
        except (TypeError, ValueError):
            raise ParameterError(f"tau2: {tau2!r} is not a number") from None
        if not (math.isfinite(tau2) and tau2 >= 0):
            raise ParameterError(f"tau2: {tau2!r} must be a finite number >= 0")
    return _pool(y, v, tau2, level)


def tau2_from_I2(variances: Sequence[float], I2: float) -> float:  # noqa: N802 - I2 is the statistic's name
    """Between-study variance implied by a published ``I2`` and the within-study variances.

    Inverts ``I2 = (Q - (k-1))/Q``: ``Q = (k-1)/(1 - I2)``, then the DerSimonian-Laird formula
    ``tau2 = (Q - (k-1))/C``, ``C = sum(w) - sum(w^2)/sum(w)``, ``w = 1/v``. Equivalently
    ``tau2 = I2/(1 - I2) * (k-1)/C``.

    Parameters
    ----------
    variances : sequence of float
        Within-study variances of the ``k`` effects (squared units), each > 0, k >= 2.
    I2 : float
        A fraction in [0, 1) (a published 88 % is 0.88).

    Returns
    -------
    float
        ``tau2`` (squared units of the effect), >= 0.

    Raises
    ------
    ParameterError
        If ``I2`` is not in [0, 1) (a value above 1 is named as a likely percentage), k < 2 or
        a variance is not > 0.
    """
    v = np.atleast_1d(np.asarray(variances, dtype=float)).ravel() if np.ndim(variances) else np.array([])
    if v.size:
        v = _arrays(np.zeros(v.size), v)[1]  # the same checks as for pooling: finite, > 0
    try:
        i2 = float(I2)
    except (TypeError, ValueError):
        raise ParameterError(f"I2: {I2!r} is not a number") from None
    if not (math.isfinite(i2) and 0 <= i2 < 1):
        hint = f" (a percentage? pass {i2:g}/100)" if 1 <= i2 < 100 else ""
        raise ParameterError(f"I2: {I2!r} is not a fraction in [0, 1){hint}")
    if v.size < 2:
        raise ParameterError("variances: I2 says nothing about tau2 with fewer than 2 effects")
    w = 1.0 / v
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    df = v.size - 1
    q = df / (1 - i2)
    return max(0.0, (q - df) / c)


def se_from_ci(low: float, high: float, level: float = 0.95) -> float:
    """Standard error behind a symmetric normal confidence interval: ``(high - low)/(2 z)``.

    Parameters
    ----------
    low, high : float
        The interval's ends, on the scale where it is symmetric (log scale for a ratio).
    level : float
        Its confidence level (default 0.95, ``z = 1.959964``).

    Returns
    -------
    float
        The standard error (units of the interval).

    Raises
    ------
    ParameterError
        If an end is not finite, ``low > high``, or the level is not in (0, 1).
    """
    z = _z(level)
    try:
        low, high = float(low), float(high)
    except (TypeError, ValueError):
        raise ParameterError(f"low, high: ({low!r}, {high!r}) are not numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ParameterError(f"low, high: ({low!r}, {high!r}) must be finite")
    if low > high:
        raise ParameterError(f"low {low:g} > high {high:g}: the interval is reversed")
    return (high - low) / (2 * z)
