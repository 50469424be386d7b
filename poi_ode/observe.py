"""Observation model: simulated states -> measured analytes in the dataset's units."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .data import analyte_factor, per_ovary
from .errors import PoiOdeError, UnitError

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
    unconvertible: str = ""
    """The model's unit that the data's unit does not convert to (``""``: it converts, or the
    variable is relative); such an observable needs an assay scale."""


def observable(model: "Model", analyte: str, unit: str, assay_scale: bool = False) -> Observable:
    """The observable for ``analyte`` reported in ``unit``.

    Parameters
    ----------
    model : Model
    analyte : str
        A name of :data:`poi_ode.data.ANALYTES`.
    unit : str
        The (harmonised) unit of the observations.
    assay_scale : bool
        If True, a unit that does not convert to the model variable's unit (an assay on its own
        scale: mouse FSH in mIU/mL against a model in ng/mL, arbitrary units) gives an
        observable with ``factor`` 1 that ``needs_scale``, its reason in ``unconvertible``,
        instead of an error.

    Raises
    ------
    PoiOdeError
        If the model has no variable for the analyte, or the units do not convert (and
        ``assay_scale`` is False).
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
    count_unit, per = per_ovary(unit)
    try:
        factor = analyte_factor(analyte, units[variable], count_unit) * per
    except UnitError:
        if not assay_scale:
            raise
        return Observable(analyte, variable, 1.0, True, units[variable])
    return Observable(analyte, variable, factor, False)
