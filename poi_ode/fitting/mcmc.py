"""Posterior samples of a fit with emcee (the ``mcmc`` extra), started at the estimate."""
from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

from ..errors import PoiOdeError
from .minimise import _lmfit_params
from .problem import FitProblem
from .result import FitResult, _clean


def _sample(result: FitResult, problem: FitProblem, steps: int, walkers: int | None, burn: int | None,
            seed: int) -> None:
    """Posterior samples with emcee (through lmfit), started at the estimate."""
    try:
        import emcee  # noqa: F401
    except ImportError:
        raise PoiOdeError("MCMC sampling needs emcee: pip install 'poi_ode[mcmc]'") from None
    import lmfit

    keys = [f.key for f in problem.free]
    theta = result.internal_estimate()
    walkers = walkers or max(16, 4 * len(keys))
    burn = steps // 4 if burn is None else burn

    def objective(params):
        return problem.residuals(np.array([params[k].value for k in keys]))

    minimizer = lmfit.Minimizer(objective, _lmfit_params(problem, theta), nan_policy="raise")
    printed = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
        warnings.simplefilter("ignore")
        out = minimizer.emcee(steps=steps, nwalkers=walkers, burn=burn, is_weighted=True, seed=seed, progress=False)
    if "autocorrelation" in printed.getvalue():
        result.warnings.append("emcee: the chain is shorter than 50 integrated autocorrelation times; run longer")
    chain = out.flatchain[keys].to_numpy()
    natural = np.column_stack([[f.to_value(x) for x in chain[:, j]] for j, f in enumerate(problem.free)])
    for j, est in enumerate(result.parameters):
        lo, hi = np.percentile(natural[:, j], [2.5, 97.5])
        est.ci_low, est.ci_high, est.ci_method = float(lo), float(hi), "posterior (emcee)"
    result.samples = _clean(dict(
        names=keys, values=natural.tolist(), steps=steps, walkers=walkers, burn=burn, seed=seed,
        acceptance=float(np.mean(out.acceptance_fraction)),
    ))
