"""One local minimisation of a fit problem with lmfit (the methods, the lmfit parameters, chi-square)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .jacobian import finite_difference_jacobian
from .problem import FitProblem

METHODS = ("least_squares", "leastsq", "differential_evolution")


def _lmfit_params(problem: FitProblem, start: np.ndarray):
    import lmfit

    params = lmfit.Parameters()
    for f, x in zip(problem.free, start):
        params.add(f.key, value=float(np.clip(x, f.lower, f.upper)), min=f.lower, max=f.upper)
    return params


def _minimise(problem: FitProblem, start: np.ndarray, method: str, max_nfev: int, seed: int, jacobian: str = "fd"):
    import lmfit

    keys = [f.key for f in problem.free]

    def objective(params):
        return problem.residuals(np.array([params[k].value for k in keys]))

    def analytic(params):
        theta = np.array([params[k].value for k in keys])
        jac = problem.jacobian(theta)
        return jac if jac is not None else finite_difference_jacobian(problem, theta)

    kws: dict[str, Any] = {}
    if method == "differential_evolution":
        kws = dict(seed=seed, maxiter=max(10, max_nfev // (15 * max(1, len(keys)))), polish=True)
    elif method in ("least_squares", "leastsq"):
        kws = dict(max_nfev=max_nfev)
        if jacobian == "analytic" and method == "least_squares" and problem.analytic_unavailable() is None:
            kws["jac"] = analytic  # (an objective without one is differenced by lmfit, as for "fd")
    minimizer = lmfit.Minimizer(objective, _lmfit_params(problem, start), scale_covar=False, nan_policy="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = minimizer.minimize(method=method, **kws)
    theta = np.array([out.params[k].value for k in keys])
    return theta, out


def _chi2(problem: FitProblem, theta: np.ndarray) -> float:
    r = problem.residuals(theta)
    return float(r @ r)
