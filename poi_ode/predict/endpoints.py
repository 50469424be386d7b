"""Endpoints: numbers read off a trajectory (AMH at a day, AUC, time below a threshold...).

An endpoint is any object with ``name``, ``unit``, ``t_end(model)`` (the simulation it needs,
days), ``times(model)`` (output days it needs) and ``__call__(trajectory) -> float``. The
built-in endpoints also take a :class:`~poi_ode.simulate.TrajectoryBatch` and return one value
per simulation (``BATCHED``), which is how dose-response evaluates them. Strings
are parsed by :func:`parse_endpoint`:

==========================  ===================================================================
``"AMH@90"``                value of a state or output at day 90 (``"F_prim@5y"``: 5 years)
``"AUC:AMH@0-180"``         area under AMH from day 0 to 180 (unit x day)
``"FSH<25@0-365"``          days with FSH below 25 (in its model unit) between days 0 and 365
``"E2>50@0-180"``           days with estradiol above 50 (cycle-resumption indicator)
``"resumed:E2>50@0-180"``   1 if estradiol exceeds 50 at any time in the window, else 0
==========================  ===================================================================
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

import numpy as np

from ..errors import ParameterError
from ..simulate import scalar_or_array

if TYPE_CHECKING:  # pragma: no cover
    from ..model.core import Model
    from ..simulate import Trajectory, TrajectoryBatch

__all__ = ["At", "AUC", "TimeBeyond", "Resumed", "parse_endpoint", "Endpoint"]

GRID = 1.0  # day: resolution of window endpoints


def _days(text: str) -> float:
    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*(d|day|days|w|wk|week|weeks|m|mo|month|months|y|yr|year|years)?\s*", text)
    if not m:
        raise ParameterError(f"cannot read {text!r} as a time (e.g. 90, 12w, 6m, 5y)")
    factor = {None: 1, "d": 1, "day": 1, "days": 1, "w": 7, "wk": 7, "week": 7, "weeks": 7,
              "m": 30.4375, "mo": 30.4375, "month": 30.4375, "months": 30.4375,
              "y": 365.25, "yr": 365.25, "year": 365.25, "years": 365.25}[m.group(2)]
    return float(m.group(1)) * factor


def _window(tr: Trajectory | TrajectoryBatch, start: float, end: float) -> np.ndarray:
    """Mask of the trajectory's output days inside [start, end]."""
    return (tr.time >= start - 1e-9) & (tr.time <= end + 1e-9)


def _window_days(start: float, end: float) -> list[float]:
    return list(np.linspace(start, end, int(round((end - start) / GRID)) + 1))


def _check_variable(model: "Model", variable: str) -> str:
    units = model.units()
    if variable not in units:
        raise ParameterError(f"endpoint variable {variable!r} is not a state or output of the model")
    return units[variable]


@dataclass(frozen=True)
class At:
    """Value of ``variable`` at ``day``."""

    variable: str
    day: float
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or f"{self.variable}@{self.day:g}"

    def unit(self, model: "Model") -> str:
        return _check_variable(model, self.variable)

    def times(self, model: "Model") -> list[float]:
        return [self.day]

    @overload
    def __call__(self, tr: Trajectory) -> float: ...
    @overload
    def __call__(self, tr: TrajectoryBatch) -> np.ndarray: ...  # one value per simulation

    def __call__(self, tr: Trajectory | TrajectoryBatch) -> float | np.ndarray:
        return tr.at(self.day, self.variable)


@dataclass(frozen=True)
class AUC:
    """Area under ``variable`` between ``start`` and ``end`` (trapezoid on a 1-day grid)."""

    variable: str
    start: float
    end: float

    @property
    def name(self) -> str:
        return f"AUC:{self.variable}@{self.start:g}-{self.end:g}"

    def unit(self, model: "Model") -> str:
        return f"{_check_variable(model, self.variable)}*day"

    def times(self, model: "Model") -> list[float]:
        return _window_days(self.start, self.end)

    @overload
    def __call__(self, tr: Trajectory) -> float: ...
    @overload
    def __call__(self, tr: TrajectoryBatch) -> np.ndarray: ...  # one value per simulation

    def __call__(self, tr: Trajectory | TrajectoryBatch) -> float | np.ndarray:
        mask = _window(tr, self.start, self.end)
        return scalar_or_array(np.trapezoid(tr[self.variable][..., mask], tr.time[mask], axis=-1))


@dataclass(frozen=True)
class TimeBeyond:
    """Days in [start, end] with ``variable`` below (``below=True``) or above ``threshold``."""

    variable: str
    threshold: float
    start: float
    end: float
    below: bool = True

    @property
    def name(self) -> str:
        return f"{self.variable}{'<' if self.below else '>'}{self.threshold:g}@{self.start:g}-{self.end:g}"

    def unit(self, model: "Model") -> str:
        _check_variable(model, self.variable)
        return "day"

    def times(self, model: "Model") -> list[float]:
        return _window_days(self.start, self.end)

    @overload
    def __call__(self, tr: Trajectory) -> float: ...
    @overload
    def __call__(self, tr: TrajectoryBatch) -> np.ndarray: ...  # one value per simulation

    def __call__(self, tr: Trajectory | TrajectoryBatch) -> float | np.ndarray:
        mask = _window(tr, self.start, self.end)
        t, y = tr.time[mask], tr[self.variable][..., mask]
        inside = (y < self.threshold) if self.below else (y > self.threshold)
        return scalar_or_array(np.trapezoid(inside.astype(float), t, axis=-1))


@dataclass(frozen=True)
class Resumed:
    """1 if ``variable`` exceeds ``threshold`` at any output day in the window, else 0."""

    variable: str
    threshold: float
    start: float
    end: float

    @property
    def name(self) -> str:
        return f"resumed:{self.variable}>{self.threshold:g}@{self.start:g}-{self.end:g}"

    def unit(self, model: "Model") -> str:
        _check_variable(model, self.variable)
        return "1"

    def times(self, model: "Model") -> list[float]:
        return _window_days(self.start, self.end)

    @overload
    def __call__(self, tr: Trajectory) -> float: ...
    @overload
    def __call__(self, tr: TrajectoryBatch) -> np.ndarray: ...  # one value per simulation

    def __call__(self, tr: Trajectory | TrajectoryBatch) -> float | np.ndarray:
        return scalar_or_array(np.any(tr[self.variable][..., _window(tr, self.start, self.end)] > self.threshold,
                                      axis=-1))


Endpoint = At | AUC | TimeBeyond | Resumed
BATCHED = (At, AUC, TimeBeyond, Resumed)  # evaluate a TrajectoryBatch at once


def parse_endpoint(spec: "str | Endpoint") -> "Endpoint":
    """An endpoint object from its string form (see the module docstring); objects pass through."""
    if not isinstance(spec, str):
        if not (hasattr(spec, "name") and callable(spec) and hasattr(spec, "times")):
            raise ParameterError(f"endpoint {spec!r} needs name, unit(model), times(model) and __call__(trajectory)")
        return spec
    text = spec.strip()
    window = r"@\s*([0-9.eE+]+\s*[a-z]*)\s*-\s*([0-9.eE+]+\s*[a-z]*)"
    m = re.fullmatch(r"AUC:(\w+)" + window, text)
    if m:
        return AUC(m.group(1), _days(m.group(2)), _days(m.group(3)))
    m = re.fullmatch(r"resumed:(\w+)>([0-9.eE+]+)" + window, text)
    if m:
        return Resumed(m.group(1), float(m.group(2)), _days(m.group(3)), _days(m.group(4)))
    m = re.fullmatch(r"(\w+)([<>])([0-9.eE+]+)" + window, text)
    if m:
        return TimeBeyond(m.group(1), float(m.group(3)), _days(m.group(4)), _days(m.group(5)), m.group(2) == "<")
    m = re.fullmatch(r"(\w+)@\s*([0-9.eE+]+\s*[a-z]*)", text)
    if m:
        return At(m.group(1), _days(m.group(2)), text)
    raise ParameterError(
        f"cannot read endpoint {spec!r}; forms: 'AMH@90', 'F_prim@5y', 'AUC:AMH@0-180', 'FSH<25@0-365', "
        "'E2>50@0-180', 'resumed:E2>50@0-180'"
    )
