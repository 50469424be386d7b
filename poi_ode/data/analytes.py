"""The analytes of a dataset and their units: standard units per species, relative and arbitrary units."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnitError
from ..units import conversion_factor, dimensionality

RELATIVE_UNITS: dict[str, float] = {
    "%": 0.01, "percent": 0.01, "% of control": 0.01, "% control": 0.01,
    "fold": 1.0, "fold change": 1.0, "fold-change": 1.0, "ratio": 1.0,
}


"""Units of relative values (with a ``reference_arm``): the fraction of the reference per unit.
They are harmonised to ``fold`` (1 = the reference arm's value at the same day)."""


ARBITRARY_UNITS = ("au", "a.u.", "arbitrary unit", "arbitrary units", "arb. units", "od", "rlu", "rfu", "mfi",
                   "relative units")


"""Units of assays on their own scale (lower case): kept as given; a fit estimates their scale."""


@dataclass(frozen=True)
class Analyte:
    """A measurable quantity: its standard unit and molar or per-ovary conversions."""

    name: str
    standard_unit: str
    description: str
    molar_factor: float | None = None  # pmol/L per standard unit, where the assay is molar
    aliases: tuple[str, ...] = ()


# Molar factors from shared/design/MODEL.md: 1 ng/mL AMH = 7.14 pmol/L; 1 pg/mL E2 = 3.671 pmol/L.
ANALYTES: dict[str, Analyte] = {
    a.name: a
    for a in (
        Analyte("AMH", "ng/mL", "anti-Müllerian hormone", 7.14, ("amh",)),
        Analyte("FSH", "IU/L", "follicle-stimulating hormone (mouse assays: ng/mL)", None, ("fsh",)),
        Analyte("E2", "pg/mL", "estradiol", 3.671, ("estradiol", "e2", "oestradiol")),
        Analyte("InhB", "pg/mL", "inhibin B", None, ("inhibin b", "inhibin_b", "inhb")),
        Analyte("LH", "IU/L", "luteinising hormone (not in the model yet)", None, ("lh",)),
        Analyte("AFC", "follicles", "antral follicle count (ultrasound)", None, ("afc",)),
        Analyte("primordial", "follicles", "primordial follicle count (histology)"),
        Analyte("primary", "follicles", "primary follicle count (histology)"),
        Analyte("secondary", "follicles", "secondary follicle count (histology)"),
        Analyte("antral", "follicles", "antral follicle count (histology)"),
        Analyte("TNF", "pg/mL", "TNF-α (pro-inflammatory)", None, ("tnf-a", "tnf-alpha", "tnfa")),
        Analyte("IL6", "pg/mL", "IL-6 (pro-inflammatory)", None, ("il-6",)),
        Analyte("IFNG", "pg/mL", "IFN-γ (pro-inflammatory)", None, ("ifn-g", "ifn-gamma")),
        Analyte("IL10", "pg/mL", "IL-10 (anti-inflammatory)", None, ("il-10",)),
        Analyte("TGFB", "pg/mL", "TGF-β (anti-inflammatory)", None, ("tgf-b", "tgf-beta")),
    )
}


_ALIASES = {alias: a.name for a in ANALYTES.values() for alias in (a.name.lower(), *a.aliases)}


def analyte_name(raw: str) -> str | None:
    return _ALIASES.get(str(raw).strip().lower())


def analyte_factor(analyte: str, unit: str, to_unit: str) -> float:
    """Factor from ``unit`` to ``to_unit`` for ``analyte``, using its molar factor if needed.

    Raises
    ------
    UnitError
        If the units cannot be converted for this analyte.
    """
    try:
        return conversion_factor(unit, to_unit)
    except UnitError:
        a = ANALYTES[analyte]
        if a.molar_factor is None:
            raise
        molar = "pmol/L"
        try:
            to_std = conversion_factor(unit, molar) / a.molar_factor * conversion_factor(a.standard_unit, to_unit)
            return to_std
        except UnitError:
            pass
        try:
            return conversion_factor(unit, a.standard_unit) * a.molar_factor * conversion_factor(molar, to_unit)
        except UnitError:
            raise UnitError(f"cannot convert {analyte} from {unit!r} to {to_unit!r}") from None


def per_ovary(unit: str) -> tuple[str, float]:
    """``follicles/ovary`` and friends: count unit and the factor from per-individual counts."""
    text = unit.replace(" ", "").lower()
    if text in ("follicles/ovary", "follicle/ovary", "perovary", "follicles_per_ovary"):
        return "follicles", 0.5
    return unit, 1.0


def standard_unit(analyte: str, species: str, unit: str) -> str:
    """The harmonised unit of ``analyte`` (mouse and rat FSH stay in mass units)."""
    std = ANALYTES[analyte].standard_unit
    if analyte == "FSH" and species in ("mouse", "rat"):
        try:
            conversion_factor(unit, "ng/mL")
            return "ng/mL"
        except UnitError:
            return std
    if std == "follicles":
        return "follicles/ovary" if per_ovary(unit)[1] != 1.0 else "follicles"
    return std


def relative_factor(unit: str) -> float | None:
    """Fraction of the reference per unit of a relative value (``%``: 0.01), or None."""
    return RELATIVE_UNITS.get(str(unit).strip().lower())


def _is_concentration(unit: str) -> bool:
    """Whether ``unit`` is an amount (mass, moles, IU, cells...) per volume."""
    try:
        return dict(dimensionality(unit)).get("[length]", 0) == -3
    except UnitError:
        return False


def harmonise_unit(analyte: str, species: str, unit: str) -> tuple[str, float]:
    """The harmonised unit of a value of ``analyte`` in ``unit`` and the factor to it.

    Parameters
    ----------
    analyte : str
        A name of :data:`ANALYTES`.
    species : str
        The row's species (mouse and rat FSH stay in mass units).
    unit : str
        As printed.

    Returns
    -------
    unit_std, factor : str, float
        ``value_std = factor * value``. Relative units give ``("fold", fraction)``; arbitrary
        units and concentrations that no conversion relates to the standard unit (an assay on
        its own scale) give the unit as given and 1.

    Raises
    ------
    UnitError
        If the unit is unknown or of a dimension the analyte cannot have (a length for AMH).
    """
    rel = relative_factor(unit)
    if rel is not None:
        return "fold", rel
    if str(unit).strip().lower() in ARBITRARY_UNITS:
        return str(unit).strip(), 1.0
    std = standard_unit(analyte, species, unit)
    count_unit, per = per_ovary(unit)
    std_unit, std_per = per_ovary(std)
    try:
        return std, analyte_factor(analyte, count_unit, std_unit) * std_per / per
    except UnitError:
        if _is_concentration(unit) and _is_concentration(std):
            return str(unit).strip(), 1.0  # an assay on its own scale
        raise
