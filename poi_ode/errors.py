"""Exception types of poi_ode.

Every error the library raises on purpose derives from :class:`PoiOdeError`, and its
message names the offending item (parameter, state, dose, row, field or time).
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "PoiOdeError",
    "ModelError",
    "ParameterError",
    "UnitError",
    "DosingError",
    "SimulationError",
    "PoiOdeWarning",
    "CacheWarning",
    "AssayScaleWarning",
]


class PoiOdeError(Exception):
    """Base class of all poi_ode errors."""


class ModelError(PoiOdeError):
    """A module or composed model is malformed (undefined symbol, clash, leak, bad unit)."""


class ParameterError(PoiOdeError, ValueError):
    """A parameter value is missing, not finite, negative or outside its bounds."""


class UnitError(PoiOdeError, ValueError):
    """A unit is unknown or cannot be converted to the unit required."""


class DosingError(PoiOdeError, ValueError):
    """A dose or regimen is invalid (unknown agent, route or unit; negative amount; bad time)."""


class SimulationError(PoiOdeError, RuntimeError):
    """The ODE solver failed; the message says at what time and which state."""

    failures: Any = None  # a table of the failed runs, where the raiser has one (sensitivity.gsa: a DataFrame)


class PoiOdeWarning(UserWarning):
    """Base class of the warnings poi_ode gives on purpose (a fit went on, but read this)."""


class CacheWarning(PoiOdeWarning):
    """A cached file (generated code, compiled library) was damaged and has been rebuilt; the
    message names the file."""


class AssayScaleWarning(PoiOdeWarning):
    """An analyte's unit does not convert to the model's: the fit added an assay scale factor."""
