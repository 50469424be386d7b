"""Units: one shared :mod:`pint` registry with the few custom units the model needs.

Counts of cells and follicles and international units of hormone activity are their own
dimensions, so that a count can never be silently added to a concentration.  Vesicle
``particles`` keep pint's own definition (1/N_A mol).  The registry is built lazily: importing :mod:`poi_ode`
does not import pint.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .errors import UnitError

__all__ = ["registry", "conversion_factor", "check_unit", "dimensionality"]

_CUSTOM_UNITS = (
    "cell = [cell] = cells",
    "million_cells = 1e6 * cell",
    "follicle = [follicle] = follicles",
    "IU = [hormone_activity] = international_unit",
)


@lru_cache(maxsize=1)
def registry() -> Any:
    """Return the shared pint ``UnitRegistry`` (created on first use)."""
    import pint

    ureg: Any = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)  # used untyped, as registry() returns it
    for definition in _CUSTOM_UNITS:
        ureg.define(definition)
    return ureg


def _normalise(unit: str) -> str:
    text = unit.strip()
    if text in ("", "1", "dimensionless"):
        return "dimensionless"
    text = text.replace("µ", "u").replace("μ", "u").replace("^", "**").replace("²", "**2").replace("³", "**3")
    return re.sub(r"(?<=[A-Za-z])([23])(?![0-9.*])", r"**\1", text)  # m2 -> m**2, mm3 -> mm**3


@lru_cache(maxsize=512)
def _parse(unit: str) -> Any:
    ureg = registry()
    try:
        return ureg.parse_units(_normalise(unit))
    except Exception as exc:  # pint raises several types (UndefinedUnitError, syntax errors)
        raise UnitError(f"unknown unit {unit!r}: {exc}") from None


def check_unit(unit: str, what: str = "unit") -> None:
    """Raise :class:`UnitError` naming ``what`` if ``unit`` cannot be parsed."""
    try:
        _parse(unit)
    except UnitError as exc:
        raise UnitError(f"{what}: {exc}") from None


def dimensionality(unit: str) -> Any:
    """Return the pint dimensionality of ``unit``."""
    return _parse(unit).dimensionality


@lru_cache(maxsize=1024)
def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Factor ``f`` such that ``value_in_to_unit = f * value_in_from_unit``.

    Raises
    ------
    UnitError
        If either unit is unknown or the two are not of the same dimension.
    """
    ureg = registry()
    src, dst = _parse(from_unit), _parse(to_unit)
    try:
        return float(ureg.Quantity(1.0, src).to(dst).magnitude)
    except Exception:
        raise UnitError(
            f"cannot convert {from_unit!r} to {to_unit!r}: "
            f"{src.dimensionality} is not {dst.dimensionality}"
        ) from None
