"""Observation model: simulated states -> measured analytes in the dataset's units."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .data import _per_ovary, analyte_factor
from .errors import PoiOdeError

if TYPE_CHECKING:  # pragma: no cover
    from .model.core import Model

__all__ = ["Observable", "observable", "OBSERVED_AS"]

OBSERVED_AS = {
    "AMH": "AMH",
    "FSH": "FSH",
    "E2": "E2",
    "InhB": "InhB",
    "AFC": "AFC",
    "primordial": "F_prim",
    "primary": "F_pri",
    "secondary": "F_sec",
    "antral": "AFC",
    "TNF": "C_pro",
    "IL6": "C_pro",
    "IFNG": "C_pro",
    "IL10": "C_anti",
    "TGFB": "C_anti",
}
"""Model variable (state or output) behind each analyte."""

RELATIVE = {"C_pro", "C_anti"}
"""Variables on a relative scale (healthy = 1): their analytes need an assay scale factor."""


@dataclass(frozen=True)
class Observable:
    """How one analyte is read off the model: ``value = factor * scale * variable``."""

    analyte: str
    variable: str
    factor: float
    needs_scale: bool


def observable(model: "Model", analyte: str, unit: str) -> Observable:
    """The observable for ``analyte`` reported in ``unit``.

    Raises
    ------
    PoiOdeError
        If the model has no variable for the analyte, or the units do not convert.
    """
    variable = OBSERVED_AS.get(analyte)
    units = model.units()
    if variable is None or variable not in units:
        raise PoiOdeError(
            f"analyte {analyte!r} is not observable in model {model.name!r} "
            f"(observable: {', '.join(a for a, v in OBSERVED_AS.items() if v in units)})"
        )
    if variable in RELATIVE:
        return Observable(analyte, variable, 1.0, True)
    count_unit, per = _per_ovary(unit)
    factor = analyte_factor(analyte, units[variable], count_unit) * per
    return Observable(analyte, variable, factor, False)
