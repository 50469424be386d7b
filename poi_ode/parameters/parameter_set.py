"""The parameter values of a species: :class:`Parameter` (one value with unit, bounds, scale and provenance)
and :class:`ParameterSet` (the values of one species or calibration, with reference data and numeric views)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import numpy as np

from ..errors import ParameterError, UnitError
from ..units import conversion_factor

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..model.core import Model

__all__ = ["Parameter", "ParameterSet", "SOURCE_KINDS"]

SOURCE_KINDS = ("sourcebook", "literature", "assumption", "derived", "fitted", "translated", "definition")
"""Allowed values of ``kind``: where a value comes from (``translated``: another species' fitted value carried
over by a stated scaling rule, :mod:`poi_ode.mbma.translation`)."""


@dataclass(frozen=True)
class Parameter:
    """One parameter value with its unit, bounds, scale and provenance.

    ``value``, ``lower`` and ``upper`` are in ``unit`` (the unit of the source).
    """

    name: str
    value: float
    unit: str
    lower: float
    upper: float
    scale: str
    kind: str
    source: str
    prior: dict | None = None  # {"median", "sd_log10"} (log scale) or {"mean", "sd"}, in ``unit``

    def in_unit(self, unit: str) -> float:
        """The value converted to ``unit``."""
        return self.value * conversion_factor(self.unit, unit)


def _check_value(p: Parameter, value: float, where: str) -> None:
    if not math.isfinite(value):
        raise ParameterError(f"{where}: value {value!r} is not finite")
    if value < 0:
        raise ParameterError(f"{where}: value {value:g} is negative")
    if not p.lower <= p.upper:
        raise ParameterError(f"{where}: lower bound {p.lower} exceeds upper bound {p.upper}")
    if not p.lower <= value <= p.upper:
        raise ParameterError(
            f"{where}: value {value:g} {p.unit} is outside its bounds [{p.lower:g}, {p.upper:g}] {p.unit}"
        )


_DERIVED = "derived from"  # memo key: (root set, names whose values differ from the root's)
_VECTOR = "vector of"  # memo key prefix: the checked vector by the identity of a model's parameter signature


@dataclass(frozen=True)
class ParameterSet:
    """The parameter values of one species (or one calibration), with reference data.

    Attributes
    ----------
    species : str
        Name (``"human"``, ``"mouse"``).
    description : str
        What the set represents and its caveats.
    parameters : dict of str to Parameter
        Values with units, bounds, scale and provenance.
    info : dict
        Everything else the file holds: hormone units, reserve anchors, reference age,
        normal ranges (each with its source).
    """

    species: str
    description: str
    parameters: Mapping[str, Parameter]
    info: Mapping[str, Any] = field(default_factory=dict)
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self.parameters[name]
        except KeyError:
            raise ParameterError(f"unknown parameter {name!r} in the {self.species} set") from None

    def __contains__(self, name: object) -> bool:
        return name in self.parameters

    def __iter__(self):
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    # -- changes ------------------------------------------------------------------------------
    def with_values(self, values: Mapping[str, float | tuple[float, str]] | None = None, **kw: float) -> "ParameterSet":
        """A copy with some values replaced, each checked against its bounds.

        Values are in the unit the set lists for the parameter, or given as ``(value, unit)``.
        """
        changes = dict(values or {}, **kw)
        new = dict(self.parameters)
        for name, raw in changes.items():
            p = self[name]
            if isinstance(raw, tuple):
                number, unit = raw
                value = float(number) * conversion_factor(unit, p.unit)
            else:
                try:
                    value = float(raw)
                except (TypeError, ValueError):
                    raise ParameterError(f"parameter {name!r}: value {raw!r} is not a number") from None
            _check_value(p, value, f"parameter {name!r}")
            new[name] = replace(p, value=value)
        out = replace(self, parameters=new)
        # values alone changed (names, units and bounds as here): its vector is this set's root's with the
        # changed entries replaced, without checking the set against the model again (see vector)
        root, changed = self._memo.get(_DERIVED, (self, frozenset()))
        out._memo[_DERIVED] = (root, changed | frozenset(changes))
        return out

    def with_bounds(self, name: str, lower: float, upper: float) -> "ParameterSet":
        """A copy with new bounds for ``name`` (in the set's unit for it)."""
        p = replace(self[name], lower=float(lower), upper=float(upper))
        _check_value(p, p.value, f"parameter {name!r}")
        return replace(self, parameters={**self.parameters, name: p})

    # -- numeric views ------------------------------------------------------------------------
    def check_against(self, model: "Model") -> None:
        """Raise :class:`ParameterError` unless every model parameter has a convertible value
        whose bounds lie inside the model's structural domain."""
        for decl in model.parameters:
            if decl.name not in self.parameters:
                raise ParameterError(
                    f"parameter {decl.name!r} (module {decl.module!r}, {decl.unit}) has no value "
                    f"in the {self.species} set"
                )
            p = self.parameters[decl.name]
            try:
                factor = conversion_factor(p.unit, decl.unit)
            except UnitError as exc:
                raise ParameterError(f"parameter {decl.name!r}: {exc}") from None
            lo, hi = decl.domain
            if p.lower * factor < lo or p.upper * factor > hi:
                raise ParameterError(
                    f"parameter {decl.name!r}: bounds [{p.lower:g}, {p.upper:g}] {p.unit} leave "
                    f"its domain [{lo:g}, {hi:g}] {decl.unit}"
                )

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, evaluated once per set and ``key`` (sets are immutable)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def vector(self, model: "Model") -> np.ndarray:
        """Values in the model's parameter order and declared units (checked, then cached).

        A set made by :meth:`with_values` takes its root set's vector (checked there) with the
        changed entries converted here: the same numbers, without converting and checking every
        parameter per set (a fit makes one set per evaluation).
        """
        signature = model.parameter_signature
        kept = self._memo.get((_VECTOR, id(signature)))  # (hashing the signature costs more than the rest)
        if kept is not None and kept[0] is signature:
            return kept[1].copy()

        def compute() -> np.ndarray:
            derived = self._memo.get(_DERIVED)
            if derived is not None:
                vec, names = derived[0].vector(model), model.parameter_names
                for name in derived[1]:
                    if name in names:  # (a set may hold parameters the model does not use)
                        i = names.index(name)
                        vec[i] = self.parameters[name].in_unit(model.parameters[i].unit)
                return vec
            self.check_against(model)
            return np.array([self.parameters[d.name].in_unit(d.unit) for d in model.parameters])

        vec = self.memo(signature, compute)
        self._memo[(_VECTOR, id(signature))] = (signature, vec)
        return vec.copy()

    def bounds(self, model: "Model") -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds in the model's parameter order and declared units."""
        self.check_against(model)
        f = [conversion_factor(self.parameters[d.name].unit, d.unit) for d in model.parameters]
        lo = np.array([self.parameters[d.name].lower for d in model.parameters]) * f
        hi = np.array([self.parameters[d.name].upper for d in model.parameters]) * f
        return lo, hi

    def table(self, names: Iterable[str] | None = None) -> "pd.DataFrame":
        """A tidy table: name, value, unit, lower, upper, scale, kind, source."""
        import pandas as pd

        rows = [vars(self.parameters[n]).copy() for n in (names or self.parameters)]
        return pd.DataFrame(rows, columns=["name", "value", "unit", "lower", "upper", "scale", "kind", "source"])
