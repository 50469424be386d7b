"""Likelihood profiles of the free parameters of a fit (:func:`profile`) and their 95% crossings."""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data import Dataset
from ..errors import ParameterError
from .minimise import _chi2
from .problem import FitProblem
from .result import CHI2_95_1DF, FitResult, _clean

if TYPE_CHECKING:  # pragma: no cover
    from ..model.core import Model


def profile(
    result: FitResult,
    key: str,
    *,
    model: "Model | None" = None,
    dataset: Dataset | None = None,
    points: int = 8,
    _problem: FitProblem | None = None,
) -> dict[str, Any]:
    """Profile likelihood of one free parameter; stores it in ``result.profiles`` and updates the
    parameter's interval (``ci_method = "profile"``) and identifiability flag.

    The profile steps outward from the estimate on each side (``points`` steps up to the
    bound, in the internal scale), re-optimising the other free parameters at each step, until
    the objective rises by the 95% threshold (3.84) or the bound is reached.
    """
    problem = _problem
    if problem is None:
        raise ParameterError("profile needs the problem: call fit(..., profiles=[...])")
    keys = [f.key for f in problem.free]
    if key not in keys:
        raise ParameterError(f"{key!r} is not a free parameter of this fit ({keys})")
    j = keys.index(key)
    theta_hat = result.internal_estimate()
    sides = [profile_side(problem, theta_hat, j, direction, result.chi2, points) for direction in (-1, 1)]
    return apply_profile(result, problem, key, sides)


def profile_side(problem: FitProblem, theta_hat: np.ndarray, j: int, direction: int, chi2_hat: float,
                 points: int = 8) -> tuple[list[float], list[float], list[list[float]]]:
    """One side of a profile: (internal values, chi2, internal vectors of every free parameter) of free
    parameter ``j`` stepped from the estimate towards its lower (``direction`` -1) or upper (+1) bound, the
    others re-optimised at each step starting from the previous step's optimum; stops past the 95% threshold.

    A pure function of its arguments (the sides of every parameter can run in any process)."""
    import lmfit

    keys = [f.key for f in problem.free]
    f = problem.free[j]
    bound = f.lower if direction < 0 else f.upper
    others = [i for i in range(len(keys)) if i != j]
    values, chi2s, thetas = [], [], []
    theta = np.array(theta_hat, dtype=float).copy()
    for step in np.linspace(0, 1, points + 1)[1:]:
        x = theta_hat[j] + (bound - theta_hat[j]) * step
        theta[j] = x
        if others:
            def objective(params, x=x):
                full = theta.copy()
                full[j] = x
                full[others] = [params[keys[i]].value for i in others]
                return problem.residuals(full)

            params = lmfit.Parameters()
            for i in others:  # warm start: the optimum of the previous step
                fi = problem.free[i]
                params.add(keys[i], value=float(np.clip(theta[i], fi.lower, fi.upper)), min=fi.lower, max=fi.upper)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out = lmfit.minimize(objective, params, method="least_squares", max_nfev=200)
            theta[others] = [out.params[keys[i]].value for i in others]
        c = _chi2(problem, theta)
        values.append(float(x))
        chi2s.append(c)
        thetas.append([float(t) for t in theta])
        if c - chi2_hat > CHI2_95_1DF * 1.5:
            break
    return values, chi2s, thetas


def apply_profile(result: FitResult, problem: FitProblem, key: str,
                  sides: list[tuple[list[float], list[float], list[list[float]]]]) -> dict[str, Any]:
    """Store the profile of ``key`` from its two sides (:func:`profile_side`) in ``result``: the
    95% crossings as its interval, the identifiability flag, and at each point the re-optimised values of
    every free parameter (``points``), so that predictions can be profiled too."""
    keys = [f.key for f in problem.free]
    j = keys.index(key)
    f = problem.free[j]
    theta_hat = result.internal_estimate()
    chi2_hat = result.chi2
    grid_values = [theta_hat[j], *sides[0][0], *sides[1][0]]
    grid_chi2 = [chi2_hat, *sides[0][1], *sides[1][1]]
    grid_theta = [list(theta_hat), *sides[0][2], *sides[1][2]]
    order = np.argsort(grid_values)
    xs, cs = np.array(grid_values)[order], np.array(grid_chi2)[order]
    delta = cs - chi2_hat
    i0 = int(np.argmin(np.abs(xs - theta_hat[j])))
    lo_cross = _crossing(xs[: i0 + 1][::-1], delta[: i0 + 1][::-1])
    hi_cross = _crossing(xs[i0:], delta[i0:])
    estimate = result[key]
    if lo_cross is None and hi_cross is None:
        flag = ("not identifiable (flat profile)" if delta.max() < CHI2_95_1DF
                else "not identifiable (profile open on both sides)")
    elif lo_cross is None or hi_cross is None:
        flag = "practically non-identifiable (profile open on one side)"
    else:
        flag = "identifiable (profile likelihood)"
    estimate.identifiability = flag
    estimate.ci_low = f.to_value(lo_cross) if lo_cross is not None else f.to_value(f.lower)
    estimate.ci_high = f.to_value(hi_cross) if hi_cross is not None else f.to_value(f.upper)
    estimate.ci_method = "profile" + ("" if lo_cross is not None and hi_cross is not None else " (open: bound shown)")
    at_points = [{k: fi.to_value(t) for k, fi, t in zip(keys, problem.free, grid_theta[i])} for i in order]
    profiled: dict[str, Any] = dict(values=[f.to_value(x) for x in xs], chi2=cs.tolist(), threshold=CHI2_95_1DF,
                                    flag=flag, points=at_points)
    result.profiles[key] = _clean(profiled)
    return result.profiles[key]


def _crossing(xs: np.ndarray, delta: np.ndarray) -> float | None:
    """Where ``delta`` first rises through the 95% threshold along ``xs`` (linear interpolation)."""
    for a in range(1, len(xs)):
        if delta[a] >= CHI2_95_1DF > delta[a - 1]:
            w = (CHI2_95_1DF - delta[a - 1]) / (delta[a] - delta[a - 1])
            return float(xs[a - 1] + w * (xs[a] - xs[a - 1]))
    return None
