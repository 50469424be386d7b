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
    if method == "least_squares" and not _THROUGH_LMFIT:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return _least_squares(problem, start, max_nfev, analytic if "jac" in kws else None)
    minimizer = lmfit.Minimizer(objective, _lmfit_params(problem, start), scale_covar=False, nan_policy="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = minimizer.minimize(method=method, **kws)
    theta = np.array([out.params[k].value for k in keys])
    return theta, out


_THROUGH_LMFIT = False
"""True: ``least_squares`` runs through ``lmfit.Minimizer`` as the other methods do (the tests compare both)."""


class _Abort(Exception):
    """More residual evaluations than ``max_nfev`` (as lmfit's ``AbortFitException``)."""


def _least_squares(problem: FitProblem, start: np.ndarray, max_nfev: int, analytic: Any = None):
    """``lmfit.Minimizer(...).minimize(method="least_squares", max_nfev=max_nfev)`` without lmfit's parameter
    objects and statistics: scipy's ``least_squares`` on the same start (clipped to the bounds), bounds, settings
    (TRF, tolerances 1e-8, ``max_nfev`` twice lmfit's, which aborts after ``max_nfev`` residual evaluations,
    finite-difference columns included) and Jacobian, then one evaluation at the returned point, as lmfit
    makes. The same estimate, ``nfev``, ``success`` and ``message`` as through lmfit (tested); what a fit
    uses of lmfit's result, without its fixed cost per run (a few milliseconds: most of a small fit).

    Returns
    -------
    theta : ndarray
        The estimate (internal scale).
    out : SimpleNamespace
        ``success``, ``message``, ``nfev`` (lmfit's count: residual evaluations of the run), ``x``, and as
        lmfit copies them from scipy's result, ``njev``, ``status`` and ``least_squares_nfev`` (not after an
        abort, as with lmfit).
    """
    from types import SimpleNamespace

    from scipy.optimize import least_squares

    lo, hi = problem.bounds()
    x0 = np.clip(np.asarray(start, float), lo, hi)
    calls = [0]
    last: list[np.ndarray] = [x0]

    def values(x: np.ndarray) -> np.ndarray:  # what lmfit hands the objective: the values, kept in the bounds
        return np.clip(np.atleast_1d(np.asarray(x, float)), lo, hi)

    def fun(x: np.ndarray) -> np.ndarray:
        calls[0] += 1
        last[0] = values(x)
        if calls[0] > max_nfev:
            raise _Abort
        return _float64(problem.residuals(last[0]))

    kws: dict[str, Any] = dict(method="trf", ftol=1e-8, xtol=1e-8, gtol=1e-8, x_scale=1.0, loss="linear",
                               f_scale=1.0, max_nfev=2 * max_nfev, verbose=0)
    if analytic is not None:
        keys = [f.key for f in problem.free]

        def jac(x: np.ndarray) -> np.ndarray:
            theta = values(x)
            return _float64(analytic({k: SimpleNamespace(value=float(t)) for k, t in zip(keys, theta)}), ravel=False)

        kws["jac"] = jac
    try:
        ret = least_squares(fun, x0, bounds=(lo, hi), **kws)
    except _Abort:
        problem.residuals(last[0])  # lmfit evaluates the last point once more
        return last[0], SimpleNamespace(success=False, x=last[0], nfev=max_nfev,
                                        message=f"Fit aborted: number of function evaluations > {max_nfev}")
    theta = values(ret.x)
    _float64(problem.residuals(theta))  # lmfit's final evaluation, at the estimate
    return theta, SimpleNamespace(success=bool(ret.success), message=str(ret.message), nfev=calls[0], x=theta,
                                  njev=ret.njev, status=ret.status, least_squares_nfev=ret.nfev)


def _chi2(problem: FitProblem, theta: np.ndarray) -> float:
    r = problem.residuals(theta)
    return float(r @ r)


def _float64(values: Any, ravel: bool = True) -> np.ndarray:
    """``lmfit.minimizer.coerce_float64(values, nan_policy="raise", ravel=ravel)`` for the real arrays of a fit
    problem: the float64 array, or lmfit's ValueError if its sum is not finite (a NaN or an infinity)."""
    arr = np.asarray(values, dtype=np.float64)
    if ravel:
        arr = arr.ravel()
    if np.isfinite(arr.sum()):
        return arr
    from lmfit.minimizer import coerce_float64

    return coerce_float64(values, nan_policy="raise", ravel=ravel)
