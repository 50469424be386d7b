"""The Hill (Emax) curve and its fit to dose-response points."""
from __future__ import annotations

import math

import numpy as np


# ----------------------------------------------------------------------------- Hill / Emax
def hill(dose: np.ndarray, e0: float, emax: float, ed50: float, n: float) -> np.ndarray:
    """E0 + Emax d^n / (ED50^n + d^n)."""
    d = np.asarray(dose, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        frac = np.where(d > 0, 1.0 / (1.0 + (ed50 / np.maximum(d, 1e-300)) ** n), 0.0)
    return e0 + emax * frac


def fit_hill(doses: np.ndarray, values: np.ndarray, control: float | None = None) -> dict[str, float]:
    """Least-squares Hill fit (log10 ED50, Hill 0.2-10); NaN entries on failure."""
    from scipy.optimize import least_squares

    d = np.asarray(doses, float)
    y = np.asarray(values, float)
    if control is not None and math.isfinite(control):
        d, y = np.r_[0.0, d], np.r_[control, y]
    ok = np.isfinite(y)
    d, y = d[ok], y[ok]
    positive = d[d > 0]
    if positive.size < 3:
        return dict(E0=math.nan, Emax=math.nan, ED50=math.nan, hill=math.nan, rmse=math.nan)
    lo, hi = math.log10(positive.min()) - 2, math.log10(positive.max()) + 2
    e0 = y[np.argmin(d)]
    span = y[np.argmax(d)] - e0
    scale = max(np.ptp(y), 1e-12)

    def resid(x):
        return (hill(d, x[0], x[1], 10 ** x[2], x[3]) - y) / scale

    start = [e0, span if span != 0 else scale, math.log10(np.sqrt(positive.min() * positive.max())), 1.0]
    sol = least_squares(resid, start, bounds=([-np.inf, -np.inf, lo, 0.2], [np.inf, np.inf, hi, 10.0]))
    return dict(E0=float(sol.x[0]), Emax=float(sol.x[1]), ED50=float(10 ** sol.x[2]), hill=float(sol.x[3]),
                rmse=float(np.sqrt(np.mean(sol.fun**2)) * scale))
