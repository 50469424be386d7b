"""poi_ode: ODE pharmacodynamic models of premature ovarian insufficiency treated with MSCs and exosomes."""
from .model import compose, load_model
from .model.core import Model, Module
from .parameters import ParameterSet, available_species, load_parameter_set

__version__ = "0.1.0"
from .dosing import Dose, Regimen
from .errors import DosingError, ModelError, ParameterError, PoiOdeError, SimulationError, UnitError
from .simulate import Trajectory, initial_state, simulate, steady_state
from .data import list_datasets, load_dataset, read_dataset, read_digitized
from .fitting import FitResult, fit
from .predict import DoseResponse, compare_regimens, dose_response
from .export.sbml import to_sbml
from . import sensitivity
