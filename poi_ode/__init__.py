"""poi_ode: ODE pharmacodynamic models of premature ovarian insufficiency treated with MSCs and exosomes.

The public interface, in the order of the work:

- model: :func:`load_model`, :func:`compose`, :class:`Model`, :class:`Module`, parameter sets;
- simulation: :class:`Dose`, :class:`Regimen`, :func:`simulate`, :func:`simulate_batch`, :func:`initial_state`;
- data and fitting: :func:`read_dataset`, :func:`load_dataset`, :func:`read_digitized`, :func:`fit`,
  :class:`FitResult`;
- prediction: :func:`dose_response`, :func:`compare_regimens`;
- interfaces: :func:`to_sbml`, :func:`to_petab`, :func:`from_petab`, :mod:`poi_ode.sensitivity`.
"""
from . import population, protocols, sensitivity
from ._version import __version__
from .data import list_datasets, load_dataset, read_dataset, read_digitized
from .dosing import Dose, Regimen
from .errors import CacheWarning, DosingError, ModelError, ParameterError, PoiOdeError, SimulationError, UnitError
from .export.petab import PetabProblem, from_petab, to_petab
from .export.sbml import to_sbml
from .fitting import FitResult, fit
from .model import compose, load_model
from .model.core import Model, Module
from .parameters import ParameterSet, available_species, load_parameter_set
from .predict import DoseResponse, compare_regimens, dose_response
from .simulate import Trajectory, healthy_state, initial_state, natural_history, simulate, simulate_batch, steady_state

__all__ = [
    "__version__",
    "load_model", "compose", "Model", "Module", "ParameterSet", "available_species", "load_parameter_set",
    "Dose", "Regimen", "simulate", "simulate_batch", "initial_state", "steady_state", "healthy_state",
    "natural_history", "Trajectory",
    "read_dataset", "load_dataset", "list_datasets", "read_digitized", "fit", "FitResult",
    "dose_response", "compare_regimens", "DoseResponse", "to_sbml", "to_petab", "from_petab", "PetabProblem",
    "sensitivity",
    "PoiOdeError", "ModelError", "ParameterError", "UnitError", "DosingError", "SimulationError", "CacheWarning",
]
