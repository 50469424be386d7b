"""Doses and regimens: MSC, exosome and chemotherapy events on a time line in days."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

import numpy as np

from .errors import DosingError, UnitError

if TYPE_CHECKING:  # pragma: no cover
    from .model.core import Model

__all__ = ["Dose", "Regimen", "ResolvedDose", "check_dose"]


@dataclass(frozen=True)
class Dose:
    """One administration.

    Parameters
    ----------
    time : float
        Day of administration (0 = start of the simulation).
    agent : str
        ``"msc"``, ``"exosome"`` or a chemotherapy agent (``"cyclophosphamide"``,
        ``"busulfan"``, ``"cisplatin"``, ``"doxorubicin"``); ``model.agents`` lists them. Named
        protocols (AC, CMF, ABVD...) are in :mod:`poi_ode.protocols`.
    amount : float
        Amount, >= 0, in ``unit``.
    unit : str
        For example ``"cells"``, ``"million_cells"``, ``"ug"``, ``"particles"``, ``"mg/kg"``,
        ``"mg/m**2"``, ``"mg"`` (chemotherapy: divided by the parameter ``body_weight``).
    route : str, optional
        ``"intraovarian"``, ``"intravenous"``, ``"intraperitoneal"``, ``"depot"`` (MSC,
        exosome) or ``"intravenous"``, ``"intraperitoneal"``, ``"oral"`` (chemotherapy);
        ``None`` takes the agent's default route.
    """

    time: float
    agent: str
    amount: float
    unit: str
    route: str | None = None

    def __post_init__(self) -> None:
        for field_name in ("time", "amount"):
            value = getattr(self, field_name)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise DosingError(f"dose {self._label()}: {field_name} {value!r} is not a number") from None
            if not math.isfinite(number):
                raise DosingError(f"dose {self._label()}: {field_name} is {number} (must be finite)")
            if number < 0:
                raise DosingError(f"dose {self._label()}: {field_name} {number:g} is negative")
            object.__setattr__(self, field_name, number)
        if not isinstance(self.agent, str) or not self.agent:
            raise DosingError(f"dose at day {self.time:g}: agent must be a non-empty string, got {self.agent!r}")
        if not isinstance(self.unit, str) or not self.unit:
            raise DosingError(f"dose {self._label()}: unit must be a non-empty string, got {self.unit!r}")

    def _label(self) -> str:
        return f"of {self.agent!r} at day {self.time}"

    def repeat(self, every: float, count: int) -> "Regimen":
        """This dose ``count`` times, every ``every`` days from its own time."""
        return Regimen.repeated(self, every, count)

    def __add__(self, other: "Dose | Regimen") -> "Regimen":
        return Regimen([self]) + other


@dataclass(frozen=True)
class ResolvedDose:
    """A dose mapped onto the model: state index and amount in the state's unit."""

    time: float
    state: int
    amount: float
    dose: Dose


class Regimen:
    """An ordered list of doses (treatments and insults together).

    Parameters
    ----------
    doses : iterable of Dose
        In any order; they are kept sorted by time (stable for equal times).
    """

    def __init__(self, doses: Iterable[Dose] = ()) -> None:
        items = list(doses)
        for i, d in enumerate(items):
            if not isinstance(d, Dose):
                raise DosingError(f"regimen item {i} is {type(d).__name__}, not a Dose")
        self.doses: tuple[Dose, ...] = tuple(sorted(items, key=lambda d: d.time))

    @classmethod
    def repeated(cls, dose: Dose, every: float, count: int) -> "Regimen":
        """``count`` copies of ``dose``, ``every`` days apart starting at ``dose.time``."""
        if int(count) != count or count < 1:
            raise DosingError(f"repeat count must be a positive whole number, got {count!r}")
        if not (math.isfinite(float(every)) and every > 0):
            raise DosingError(f"repeat interval must be a positive number of days, got {every!r}")
        return cls(
            Dose(dose.time + k * float(every), dose.agent, dose.amount, dose.unit, dose.route)
            for k in range(int(count))
        )

    def __add__(self, other: "Dose | Regimen") -> "Regimen":
        extra = [other] if isinstance(other, Dose) else list(other)
        return Regimen([*self.doses, *extra])

    def __iter__(self) -> Iterator[Dose]:
        return iter(self.doses)

    def __len__(self) -> int:
        return len(self.doses)

    def __repr__(self) -> str:
        body = ", ".join(
            f"{d.agent} {d.amount:g} {d.unit}{' ' + d.route if d.route else ''} @ {d.time:g} d" for d in self.doses
        )
        return f"Regimen([{body}])"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Regimen) and self.doses == other.doses

    def to_records(self) -> list[dict]:
        """Doses as dictionaries (for tables and JSON)."""
        return [dict(time=d.time, agent=d.agent, amount=d.amount, unit=d.unit, route=d.route) for d in self.doses]

    def uses_parameters(self, model: "Model") -> bool:
        """Whether :meth:`resolve` depends on the parameter values (a dose factor or unit
        conversion that involves parameters); if not, one resolution serves every set."""
        for d in self.doses:
            target = model.dose_target(d.agent, d.route)
            exprs = [target.factor, *target.alternative_units.values()]
            if any(getattr(e, "free_symbols", None) for e in exprs):
                return True
        return False

    def resolve(self, model: "Model", p: np.ndarray) -> list[ResolvedDose]:
        """Map every dose onto a model state, converting its amount to the state's unit.

        Raises
        ------
        DosingError
            Naming the dose, for an unknown agent, route or unit.
        """
        from .units import conversion_factor, dimensionality

        out = []
        for d in self.doses:
            target = model.dose_target(d.agent, d.route)
            factor: float | None
            try:
                factor = conversion_factor(d.unit, target.unit)
            except UnitError:
                factor = None
                for alt_unit, expr in target.alternative_units.items():
                    try:
                        same = dimensionality(d.unit) == dimensionality(alt_unit)
                    except UnitError as exc:
                        raise DosingError(f"dose {d._label()}: {exc}") from None
                    if same:
                        factor = conversion_factor(d.unit, alt_unit) * _evaluate(expr, model, p)
                        break
                if factor is None:
                    allowed = [target.unit, *target.alternative_units]
                    raise DosingError(
                        f"dose {d._label()}: unit {d.unit!r} cannot be used for {d.agent} "
                        f"by route {target.route!r}; use one of {allowed} (or a unit convertible to them)"
                    ) from None
            factor *= _evaluate(target.factor, model, p)
            out.append(ResolvedDose(d.time, model.index[target.state], d.amount * factor, d))
        return out


def check_dose(model: "Model", dose: Dose) -> None:
    """Check that ``model`` can take ``dose`` (agent, route and unit) without simulating it.

    The same rules as :meth:`Regimen.resolve`, without parameter values: the unit must convert
    to the target state's unit or to one of its alternative units.

    Raises
    ------
    DosingError
        Naming the dose, for an unknown agent, route or unit.
    """
    from .units import conversion_factor, dimensionality

    target = model.dose_target(dose.agent, dose.route)
    for unit in (target.unit, *target.alternative_units):
        try:
            if unit == target.unit:
                conversion_factor(dose.unit, unit)
                return
            if dimensionality(dose.unit) == dimensionality(unit):
                return
        except UnitError as exc:
            if "unknown unit" in str(exc):
                raise DosingError(f"dose {dose._label()}: {exc}") from None
    allowed = [target.unit, *target.alternative_units]
    raise DosingError(
        f"dose {dose._label()}: unit {dose.unit!r} cannot be used for {dose.agent} by route "
        f"{target.route!r}; use one of {allowed} (or a unit convertible to them)"
    )


def _evaluate(expr, model: "Model", p: np.ndarray) -> float:
    """Value of a parameter expression (dose factor) at parameter vector ``p`` (memoised)."""
    if expr.is_number:
        return float(expr)
    names = model.parameter_names
    values = tuple(float(p[names.index(s.name)]) for s in sorted(expr.free_symbols, key=str))
    key = (expr, values)
    if key not in _FACTORS:
        if len(_FACTORS) >= 4096:
            _FACTORS.clear()
        _FACTORS[key] = float(expr.xreplace({s: v for s, v in zip(sorted(expr.free_symbols, key=str), values)}))
    return _FACTORS[key]


_FACTORS: dict[tuple, float] = {}


def as_regimen(regimen: "Regimen | Sequence[Dose] | Dose | None") -> Regimen:
    """Accept a Regimen, a Dose, a list of doses or None."""
    if regimen is None:
        return Regimen()
    if isinstance(regimen, Regimen):
        return regimen
    if isinstance(regimen, Dose):
        return Regimen([regimen])
    return Regimen(regimen)
