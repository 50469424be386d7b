"""Predictions: dose-response with labelled uncertainty, Emax summaries, regimen comparison.

``dose_response(source, agent=..., doses=..., route=..., endpoints=[...], draws=...)`` runs
the model (a :class:`~poi_ode.model.core.Model`, or a :class:`~poi_ode.fitting.FitResult`
whose fitted values it uses) over a dose grid, optionally for many parameter draws, on a
``concurrent.futures`` executor (default: a local process pool for large jobs).

The code is in modules named for what they do: :mod:`~poi_ode.predict.response` (:func:`dose_response`),
:mod:`~poi_ode.predict.regimens` (:func:`compare_regimens`), :mod:`~poi_ode.predict.emax` (Hill curves),
:mod:`~poi_ode.predict.jobs` (what a prediction simulates), :mod:`~poi_ode.predict.executors` (serial, process
pool or Dask), :mod:`~poi_ode.predict.endpoints` and :mod:`~poi_ode.predict.uncertainty`; this file only
re-exports them.
"""
from .emax import fit_hill, hill
from .endpoints import AUC, BATCHED, At, Resumed, TimeBeyond, parse_endpoint
from .executors import execute_tasks
from .jobs import resolve_source, setup_prediction
from .regimens import RegimenComparison, compare_regimens
from .response import DoseResponse, dose_response
from .uncertainty import LABELS, describe, draw_parameters

__all__ = [
    "dose_response", "compare_regimens", "DoseResponse", "RegimenComparison", "hill", "fit_hill",
    "At", "AUC", "TimeBeyond", "Resumed", "parse_endpoint",
]
