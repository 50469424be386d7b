"""Calibration with lmfit: several studies and arms at once, honest uncertainty.

``fit(model, data, free=...)`` builds a :class:`~poi_ode.fitting.problem.FitProblem`
(observations, error model, priors), minimises its standardised residuals with lmfit
(``least_squares``, ``leastsq`` or ``differential_evolution``; optional Latin-hypercube
multistart), and returns a :class:`FitResult` with covariance-based intervals from the
Jacobian, identifiability flags, AIC/BIC and, on request, likelihood profiles and emcee
samples. A simulation failure inside the objective is counted and penalised, never fatal.

The code is in modules named for what they do: :mod:`~poi_ode.fitting.problem` (observations, error model,
priors), :mod:`~poi_ode.fitting.estimation` (:func:`fit`), :mod:`~poi_ode.fitting.minimise` (one lmfit run),
:mod:`~poi_ode.fitting.jacobian` (covariance, flat directions, draws), :mod:`~poi_ode.fitting.profiles`
(:func:`profile`), :mod:`~poi_ode.fitting.mcmc` (emcee samples), :mod:`~poi_ode.fitting.result`
(:class:`FitResult`), :mod:`~poi_ode.fitting.config` (fit configurations); this file only re-exports them.
"""
from .estimation import exclude_rows, fit
from .jacobian import finite_difference_jacobian, jacobian_information
from .minimise import METHODS
from .problem import FitProblem, default_free
from .profiles import profile
from .result import CHI2_95_1DF, Z95, FitResult, ParameterEstimate

__all__ = ["fit", "profile", "exclude_rows", "FitResult", "FitProblem", "default_free", "METHODS"]
