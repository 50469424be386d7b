"""The residual Jacobian of a fit and what follows from it: central differences, covariance, flat directions, draws.

Shared by :mod:`poi_ode.fitting` (intervals of a fit), :mod:`poi_ode.fitting.plots` and
:mod:`poi_ode.predict.uncertainty` (draws) and :mod:`poi_ode.sensitivity` (Fisher information);
it imports nothing of poi_ode, so none of them has to import another's internals.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .problem import FitProblem

__all__ = ["finite_difference_jacobian", "jacobian_information", "gaussian_draws", "FLAT_RTOL"]

FLAT_RTOL = 1e-8
"""A singular value of the residual Jacobian below this fraction of the largest one is a flat direction."""


def gaussian_draws(rng: np.random.Generator, mean: np.ndarray, cov: np.ndarray, size: int) -> np.ndarray:
    """``size`` draws of N(mean, cov), shape (size, len(mean)).

    The covariance of a fit with a flat direction can be indefinite by round-off (a correlation
    of +1.00): it is symmetrised and its negative eigenvalues set to 0, so the draws follow the
    covariance along every direction it resolves and stay on the flat one.
    """
    cov = (np.asarray(cov, float) + np.asarray(cov, float).T) / 2
    values, vectors = np.linalg.eigh(cov)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    return np.asarray(mean, float) + rng.standard_normal((size, len(mean))) @ root.T


def jacobian_information(jac: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Singular values, flat parameters and covariance from a residual Jacobian (internal scale).

    A parameter is flat if it loads (|component| > 0.1) on a right singular vector whose
    singular value is below ``FLAT_RTOL`` of the largest, or on a direction the rows do not
    reach at all (fewer rows than parameters). The covariance is the pseudo-inverse of the
    Fisher information ``J^T J`` of the other parameters; rows and columns of flat ones are NaN.

    Returns
    -------
    singular_values : ndarray (min(n_rows, k),)
    flat : ndarray of bool (k,)
    covariance : ndarray (k, k)
    """
    k = jac.shape[1]
    _, sv, vt = np.linalg.svd(jac, full_matrices=jac.shape[0] < k)  # all k directions
    padded = np.zeros(k)
    padded[: sv.size] = sv
    null = padded <= FLAT_RTOL * max(sv.max(initial=0.0), 1e-300)
    flat = np.any(np.abs(vt[null]) > 0.1, axis=0) if null.any() else np.zeros(k, bool)
    keep = np.flatnonzero(~flat)
    cov = np.full((k, k), np.nan)
    if keep.size:
        cov[np.ix_(keep, keep)] = np.linalg.pinv(jac[:, keep].T @ jac[:, keep])
    return sv, flat, cov


def finite_difference_jacobian(problem: "FitProblem", theta: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Finite-difference Jacobian of the residuals in the internal scale.

    Central differences (second order) with the relative step ``step``; a parameter within one step of a
    bound (a calibrated value may sit there) gets second-order one-sided differences inward,
    ``(-3 r(θ) + 4 r(θ ± h) - r(θ ± 2h)) / (± 2h)``, so the Jacobian is as accurate at a bound as inside.
    """
    cols = []
    lo, hi = problem.bounds()
    here = None
    for k in range(len(theta)):
        h = min(step * max(1.0, abs(theta[k])), (hi[k] - lo[k]) / 4.0)
        if lo[k] <= theta[k] - h and theta[k] + h <= hi[k]:
            up, down = theta.copy(), theta.copy()
            up[k] += h
            down[k] -= h
            cols.append((problem.residuals(up) - problem.residuals(down)) / (2.0 * h))
            continue
        inward = -1.0 if theta[k] + h > hi[k] else 1.0
        one, two = theta.copy(), theta.copy()
        one[k] += inward * h
        two[k] += 2.0 * inward * h
        if here is None:
            here = problem.residuals(theta)
        cols.append((4.0 * problem.residuals(one) - problem.residuals(two) - 3.0 * here) / (2.0 * inward * h))
    return np.column_stack(cols)
