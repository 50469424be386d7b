"""Datasets: a tidy, validated format for published and users' own AMH/FSH/... observations.

One row per observation. Required columns: ``study_id, arm, species, time_days, analyte,
statistic, value, unit``. Optional: ``subject, n, spread_type, spread, censored`` (the
observation), ``reference_arm`` (for values relative to another arm: unit ``%`` or ``fold``),
``regimen, initial, age_years`` (how to simulate the arm), and provenance
(``citation, doi_or_pmcid, source_location, confidence, notes, digitised``, plus any other
column, which is kept as it is). See ``docs/data.md``.

Two time axes: an arm is either on the **day axis** (``time_days`` given on every row, days
since the arm's first dose; ``age_years`` is the age at day 0, the same on every row) or on the
**age axis** (``time_days`` blank and ``age_years`` given on every row: cross-sectional
natural-history data, the untreated course observed at that age; no regimen). The harmonised
frame says which in its ``axis`` column (``"day"`` or ``"age"``); :func:`is_age_axis` tells it
for the rows of one arm.

:func:`read_dataset` validates everything at once and raises :class:`DatasetError` listing
every problem with its file, row and column; nothing is dropped or coerced silently. Values
are harmonised to standard units per analyte (``value_std``, ``spread_std``, ``unit_std``)
while the original columns stay untouched. A value in a concentration unit that does not
convert to the analyte's standard unit (mouse FSH in mIU/mL where the model has ng/mL), or in
arbitrary units (``AU``, ``OD``...), is kept on its own assay scale (``unit_std`` = the unit as
given); a fit then estimates an assay scale factor for it. Relative values (``%``, ``fold``
with a ``reference_arm``) are harmonised to ``fold``.

Values, times, ages and doses beyond what any real study reports (a sampling day beyond the
species' lifespan, a dose two orders of magnitude above the largest published one, a hormone
level far above any assay's range) are refused; the limits are the named constants of
:mod:`poi_ode.data.plausibility`. Every dose of a regimen is checked against the agents, routes
and units of the species' model.
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np

from ..errors import PoiOdeError, UnitError
from ..units import conversion_factor, dimensionality
from . import plausibility

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "DatasetError",
    "Problem",
    "Dataset",
    "ANALYTES",
    "read_dataset",
    "validate",
    "list_datasets",
    "load_dataset",
    "read_digitized",
    "parse_regimen",
    "is_age_axis",
    "harmonise_unit",
    "RELATIVE_UNITS",
    "ARBITRARY_UNITS",
]

BUNDLED = Path(__file__).parent / "bundled"

REQUIRED = ("study_id", "arm", "species", "time_days", "analyte", "statistic", "value", "unit")
OBSERVATION = ("subject", "n", "spread_type", "spread", "censored")
ARM = ("regimen", "initial", "age_years")
RELATIVE = ("reference_arm",)
PROVENANCE = ("citation", "doi_or_pmcid", "source_location", "confidence", "notes", "digitised")

STATISTICS = ("individual", "mean", "median", "unspecified")
SPREAD_TYPES = ("none", "SD", "SEM", "IQR", "range", "CI95")
CENSORING = ("", "below", "above")
SPECIES = ("human", "mouse", "rat")

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


class DatasetError(PoiOdeError, ValueError):
    """A dataset failed validation; ``problems`` lists every one of them."""

    def __init__(self, problems: list["Problem"], source: str) -> None:
        self.problems = problems
        self.source = source
        lines = [f"{source}: {len(problems)} problem(s)"] + [f"  {p}" for p in problems[:50]]
        if len(problems) > 50:
            lines.append(f"  ... and {len(problems) - 50} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Problem:
    """One validation problem: file row (1 = header, data from 2), column and message."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where) or 'file'}: {self.message}"


def _analyte_name(raw: str) -> str | None:
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


def _per_ovary(unit: str) -> tuple[str, float]:
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
        return "follicles/ovary" if _per_ovary(unit)[1] != 1.0 else "follicles"
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
    count_unit, per = _per_ovary(unit)
    std_unit, std_per = _per_ovary(std)
    try:
        return std, analyte_factor(analyte, count_unit, std_unit) * std_per / per
    except UnitError:
        if _is_concentration(unit) and _is_concentration(std):
            return str(unit).strip(), 1.0  # an assay on its own scale
        raise


def _cell_text(raw: Any) -> str:
    """A table cell as stripped text; missing values (None, NaN, NA) are ""."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ""
    text = str(raw).strip()
    return "" if text in ("nan", "None", "<NA>", "NaN") else text


def _to_float(raw: Any) -> float | None:
    if raw is None:
        return None
    text = str(raw).strip()
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return math.nan


def parse_interval(raw: str) -> tuple[float, float] | None:
    """``"0.1-1.78"`` or ``"0.1 to 1.78"`` or ``"[0.1, 1.78]"`` -> (0.1, 1.78); None if not an interval."""
    text = str(raw).strip().strip("[]()")
    m = re.fullmatch(r"([0-9.eE+]+)\s*(?:-|–|to|,)\s*([0-9.eE+]+)", text)
    if not m:
        return None
    try:
        lo, hi = float(m.group(1)), float(m.group(2))
    except ValueError:
        return None
    return (lo, hi) if lo <= hi else None


def parse_regimen(text: str):
    """Parse ``"DAY:AGENT:AMOUNT:UNIT[:ROUTE]; ..."`` into a :class:`~poi_ode.dosing.Regimen`."""
    from ..dosing import Dose, Regimen
    from ..errors import DosingError

    doses = []
    for part in str(text).split(";"):
        part = part.strip()
        if not part:
            continue
        fields = part.split(":")
        if len(fields) not in (4, 5):
            raise DosingError(f"dose {part!r}: expected DAY:AGENT:AMOUNT:UNIT[:ROUTE]")
        try:
            day, amount = float(fields[0]), float(fields[2])
        except ValueError:
            raise DosingError(f"dose {part!r}: day and amount must be numbers") from None
        doses.append(Dose(day, fields[1].strip(), amount, fields[3].strip(), fields[4].strip() if len(fields) == 5 else None))
    return Regimen(doses)


def validate(frame: "pd.DataFrame") -> list[Problem]:
    """Every problem of a dataset table (empty list: valid). Rows are numbered as in a CSV file."""
    problems: list[Problem] = []
    names = [str(c) for c in frame.columns]
    for c in dict.fromkeys(c for c in names if names.count(c) > 1):
        problems.append(Problem(1, c, f"column {c!r} appears {names.count(c)} times in the header; keep one"))
    if problems:
        return problems
    missing = [c for c in REQUIRED if c not in frame.columns]
    for c in missing:
        problems.append(Problem(None, c, "required column is missing"))
    if frame.empty:
        problems.append(Problem(None, None, "the dataset has no rows"))
    if missing or frame.empty:
        return problems
    text = frame.apply(lambda col: col.map(_cell_text))
    first_dose: dict[tuple[str, str], float] = {}
    checked_regimens: dict[tuple[str, str, str], int | None] = {}  # an arm's regimen is checked at its first row
    age_axis = _age_axis_rows(text)
    for i, row in text.iterrows():
        r = int(i) + 2 if isinstance(i, (int, np.integer)) else None
        for c in REQUIRED:
            if row[c] == "":
                if c == "time_days":
                    if not age_axis[i]:
                        problems.append(Problem(r, c, "empty: give time_days, or age_years for an observation on the age axis"))
                else:
                    problems.append(Problem(r, c, "empty"))
        species = row["species"]
        if species and species not in SPECIES:
            problems.append(Problem(r, "species", f"unknown species {species!r}; one of {SPECIES}"))
        analyte = _analyte_name(row["analyte"]) if row["analyte"] else None
        if row["analyte"] and analyte is None:
            problems.append(Problem(r, "analyte", f"unknown analyte {row['analyte']!r}; known: {', '.join(ANALYTES)}"))
        if row["statistic"] and row["statistic"] not in STATISTICS:
            problems.append(Problem(r, "statistic", f"{row['statistic']!r} is not one of {STATISTICS}"))
        t = _to_float(row["time_days"])
        lifespan = plausibility.max_days(species)
        if row["time_days"] and (t is None or not math.isfinite(t)):
            problems.append(Problem(r, "time_days", f"{row['time_days']!r} is not a number"))
        elif t is not None and t < 0:
            problems.append(Problem(r, "time_days", f"time {t:g} is before the arm's first dose (day 0)"))
        elif t is not None and lifespan is not None and t > lifespan:
            problems.append(Problem(r, "time_days", f"day {t:g} is beyond the longest documented {species} life "
                                    f"({plausibility.LIFESPAN_YEARS[species]:g} years = {lifespan:.0f} days): "
                                    "time_days is in days since the arm's first dose"))
        value = _to_float(row["value"])
        if row["value"] and (value is None or not math.isfinite(value)):
            problems.append(Problem(r, "value", f"{row['value']!r} is not a number"))
        elif value is not None and value < 0:
            problems.append(Problem(r, "value", f"value {value:g} is negative"))
        censored = row.get("censored", "")
        if censored not in CENSORING:
            problems.append(Problem(r, "censored", f"{censored!r} is not one of 'below', 'above' or empty"))
        relative = relative_factor(row["unit"]) is not None if row["unit"] else False
        reference = row.get("reference_arm", "")
        if analyte and row["unit"]:
            try:
                std, factor = harmonise_unit(analyte, species, row["unit"])
            except UnitError as exc:
                problems.append(Problem(r, "unit", f"unit {row['unit']!r} does not fit {analyte}: {exc}"))
            else:
                limit = plausibility.value_limit(analyte, std)
                if value is not None and math.isfinite(value) and value >= 0:
                    v_std = value * factor
                    if not math.isfinite(v_std):
                        problems.append(Problem(r, "value", f"value {value:g} {row['unit']} overflows in {std}"))
                    elif limit is not None and v_std > limit:
                        what = f"{v_std:g} {std}" + (f" ({value:g} {row['unit']})" if std != row["unit"] else "")
                        problems.append(Problem(r, "value", f"{analyte} {what} is beyond any assay's range "
                                                f"(limit {limit:g} {std}, poi_ode.data.plausibility): a unit or "
                                                "exponent error?"))
        if relative and not reference:
            problems.append(Problem(r, "reference_arm", f"unit {row['unit']!r} is relative: name the arm of study "
                                    f"{row['study_id']} it is relative to in column reference_arm"))
        elif reference and row["unit"] and not relative:
            problems.append(Problem(r, "unit", f"reference_arm {reference!r} is given, so the value is relative to "
                                    f"that arm: give the unit as '%' or 'fold', not {row['unit']!r}"))
        problems += _spread_problems(row, r)
        regimen = row.get("regimen", "")
        if regimen:
            try:
                doses = parse_regimen(regimen)
                if len(doses):
                    first_dose[(row["study_id"], row["arm"])] = min(d.time for d in doses)
            except PoiOdeError as exc:
                problems.append(Problem(r, "regimen", str(exc)))
            else:
                arm_key = (row["study_id"], row["arm"], regimen)
                if arm_key not in checked_regimens:
                    checked_regimens[arm_key] = r
                    problems += [Problem(r, "regimen", f"arm {row['study_id']}/{row['arm']}: {m}")
                                 for m in _dose_problems(doses, species)]
        if row.get("initial", "") not in ("", "healthy", "poi", "first_observation"):
            problems.append(Problem(r, "initial", f"{row['initial']!r} is not 'healthy', 'poi', "
                                                  "'first_observation' or empty"))
        age = row.get("age_years", "")
        age_value = _to_float(age)
        if age_axis[i]:
            if age_value is None or not math.isfinite(age_value) or age_value < 0:
                problems.append(Problem(r, "age_years", f"{age!r} is not a number >= 0 (the age, in years, of an observation on the age axis)"))
        elif age and not (age_value is not None and math.isfinite(age_value) and age_value > 0):
            problems.append(Problem(r, "age_years", f"{age!r} is not a positive number"))
        years = plausibility.LIFESPAN_YEARS.get(species)
        if age_value is not None and math.isfinite(age_value) and years is not None and age_value > years:
            problems.append(Problem(r, "age_years", f"age {age_value:g} years is beyond the longest documented "
                                                    f"{species} life ({years:g} years)"))
    problems += _axis_problems(text, age_axis)
    problems += _reference_problems(text, age_axis)
    # an arm's regimen must be the same on every row, and observations may not precede its first dose
    if "regimen" in text.columns:
        for (study, arm), group in text.groupby(["study_id", "arm"]):
            values = set(group["regimen"])
            if len(values) > 1:
                problems.append(Problem(int(group.index[0]) + 2, "regimen", f"arm {study}/{arm} has different regimens on different rows"))
            start = first_dose.get((study, arm))
            if start is not None and start > 0:
                for i, row in group.iterrows():
                    t = _to_float(row["time_days"])
                    if t is not None and math.isfinite(t) and t < start:
                        problems.append(Problem(int(i) + 2, "time_days", f"time {t:g} is before the arm's first dose (day {start:g})"))
    # on the age axis the age tells observations apart (on the day axis it is the same on every row of an arm)
    key = [c for c in ("study_id", "arm", "subject", "time_days", "age_years", "analyte", "statistic") if c in text.columns]
    dup = text.duplicated(subset=key, keep="first")
    for i in np.flatnonzero(dup.to_numpy()):
        problems.append(Problem(int(text.index[i]) + 2, None, f"duplicate of an earlier row (same {', '.join(key)})"))
    return problems


@lru_cache(maxsize=4)
def _dose_model(species: str) -> Any:
    """The species' model, for checking doses (None if the species has no parameter set)."""
    from ..parameters import available_species

    if species not in available_species():
        return None
    from ..model import load_model

    try:
        return load_model(species)
    except PoiOdeError:  # pragma: no cover - a broken bundled set is reported by its own tests
        return None


def _dose_problems(doses: Iterable[Any], species: str) -> list[str]:
    """What is wrong with the doses of one regimen for ``species``: an agent, route or unit its
    model does not know, a dose day beyond the species' lifespan, an implausible amount."""
    from ..dosing import check_dose

    out = []
    model = _dose_model(species) if species in SPECIES else None
    lifespan = plausibility.max_days(species)
    for d in doses:
        label = f"dose {d.time:g}:{d.agent}:{d.amount:g}:{d.unit}" + (f":{d.route}" if d.route else "")
        if model is not None:
            try:
                check_dose(model, d)
            except PoiOdeError as exc:
                out.append(f"{label}: {exc}")
                continue
        if lifespan is not None and d.time > lifespan:
            out.append(f"{label}: day {d.time:g} is beyond the longest documented {species} life ({lifespan:.0f} days)")
        limit = plausibility.dose_limit(d.agent, d.amount, d.unit)
        if limit is not None:
            largest = plausibility.MAX_PUBLISHED_DOSE[d.agent][limit[1]]
            out.append(f"{label}: {d.amount:g} {d.unit} is more than {plausibility.IMPLAUSIBLE_DOSE_FACTOR:g} times "
                       f"the largest published dose of {d.agent} ({largest:g} {limit[1]} per administration; "
                       "poi_ode.data.plausibility): a unit or exponent error?")
    return out


def _reference_problems(text: "pd.DataFrame", age_axis: "pd.Series") -> list[Problem]:
    """A ``reference_arm`` must be another arm of the same study, on the day axis."""
    problems: list[Problem] = []
    if "reference_arm" not in text.columns:
        return problems
    arms: dict[str, list[str]] = {}
    for study, arm in zip(text["study_id"], text["arm"]):
        arms.setdefault(study, [])
        if arm not in arms[study]:
            arms[study].append(arm)
    on_age = {(s, a) for s, a, flag in zip(text["study_id"], text["arm"], age_axis) if flag}
    for i, row in text.iterrows():
        ref = row["reference_arm"]
        if not ref:
            continue
        r = int(i) + 2
        study = row["study_id"]
        if ref not in arms.get(study, []):
            problems.append(Problem(r, "reference_arm", f"{ref!r} is not an arm of study {study!r} (its arms: "
                                    f"{', '.join(map(repr, arms.get(study, [])))}); list the reference arm with its "
                                    "own rows (for example 100 %) so that its regimen is known"))
        elif (study, ref) in on_age or bool(age_axis[i]):
            problems.append(Problem(r, "reference_arm", "relative values need both arms on the day axis "
                                                        "(time_days given)"))
    return problems


def _age_axis_rows(text: "pd.DataFrame") -> "pd.Series":
    """Per row of a stripped text table: True where the row is on the age axis (time blank, age given)."""
    time_blank = text["time_days"] == ""
    if "age_years" not in text.columns:
        return time_blank & False
    return time_blank & (text["age_years"] != "")


def _axis_problems(text: "pd.DataFrame", age_axis: "pd.Series") -> list[Problem]:
    """Arm-level rules of the two time axes (see the module docstring)."""
    problems: list[Problem] = []
    if not age_axis.any() and "age_years" not in text.columns:
        return problems
    for (study, arm), group in text.groupby(["study_id", "arm"], sort=False):
        rows = [int(i) for i in group.index]
        on_age = [bool(age_axis[i]) for i in rows]
        on_day = [text.at[i, "time_days"] != "" for i in rows]
        if any(on_age) and any(on_day):
            first_age = rows[on_age.index(True)] + 2
            for i, day in zip(rows, on_day):
                if day:
                    problems.append(Problem(
                        i + 2, "time_days",
                        f"arm {study}/{arm} mixes the day axis (this row) and the age axis (time_days blank, "
                        f"age_years given, e.g. row {first_age}): give time_days on every row of the arm or on none",
                    ))
        elif any(on_age):
            if "regimen" in text.columns:
                for i in rows:
                    if text.at[i, "regimen"] != "":
                        problems.append(Problem(
                            i + 2, "regimen",
                            f"arm {study}/{arm} is on the age axis (untreated natural history): its regimen must be empty",
                        ))
        elif "age_years" in text.columns:
            ages = list(dict.fromkeys(text.loc[rows, "age_years"]))
            if len(ages) > 1:
                problems.append(Problem(
                    rows[0] + 2, "age_years",
                    f"arm {study}/{arm} has different ages at day 0 on different rows ({', '.join(repr(a) for a in ages)}); "
                    "for observations by age leave time_days blank (the age axis)",
                ))
    return problems


def is_age_axis(rows: "pd.DataFrame") -> bool:
    """Whether the rows of one arm (as yielded by :func:`iter_arms`) are on the age axis.

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows of one arm of a harmonised dataset (or any frame with ``time_days`` and
        ``age_years``).

    Returns
    -------
    bool
        True if every row is an observation on the age axis: ``time_days`` blank (NaN) and
        ``age_years`` given; the observation is then the untreated natural-history course at
        ``age_years``. False for day-axis rows and for an empty frame.
    """
    if len(rows) == 0:
        return False
    if "axis" in rows.columns:
        return bool((rows["axis"] == "age").all())
    if "age_years" not in rows.columns:
        return False
    times = [_to_float(t) for t in rows["time_days"]]
    ages = [_to_float(a) for a in rows["age_years"]]
    return all((t is None or math.isnan(t)) and a is not None and not math.isnan(a) for t, a in zip(times, ages))


def _spread_problems(row, r: int | None) -> list[Problem]:
    out = []
    kind = row.get("spread_type", "") or "none"
    spread = row.get("spread", "")
    n_raw = row.get("n", "")
    n = _to_float(n_raw)
    if n_raw and (n is None or not math.isfinite(n) or n < 1 or n != int(n)):
        out.append(Problem(r, "n", f"{n_raw!r} is not a whole number >= 1"))
    if kind not in SPREAD_TYPES:
        out.append(Problem(r, "spread_type", f"{kind!r} is not one of {SPREAD_TYPES}"))
        return out
    if kind == "none":
        if spread:
            out.append(Problem(r, "spread", "a spread is given but spread_type is none"))
        return out
    if not spread:
        out.append(Problem(r, "spread", f"spread_type {kind} but no spread"))
        return out
    if kind in ("SD", "SEM"):
        s = _to_float(spread)
        if s is None or not math.isfinite(s) or s < 0:
            out.append(Problem(r, "spread", f"{spread!r} is not a non-negative number"))
        if not n_raw:
            out.append(Problem(r, "n", f"spread ({kind}) without n"))
    elif parse_interval(spread) is None:
        out.append(Problem(r, "spread", f"{spread!r} is not an interval like 0.1-1.78"))
    return out


@dataclass
class Dataset:
    """A validated dataset: the original table plus harmonised columns.

    Attributes
    ----------
    frame : pandas.DataFrame
        Every original column, plus ``analyte`` normalised, ``value_std``, ``spread_std``
        (an SD-like spread of the statistic in standard units, or NaN), ``se_std`` (standard
        error of the statistic: SD/sqrt(n) or SEM), ``unit_std`` and ``row`` (file row).
    name : str
        Where it came from.
    """

    frame: "pd.DataFrame"
    name: str = "dataset"
    meta: dict = field(default_factory=dict)

    @property
    def studies(self) -> list[str]:
        return list(dict.fromkeys(self.frame["study_id"]))

    @property
    def arms(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys(zip(self.frame["study_id"], self.frame["arm"])))

    @property
    def species(self) -> list[str]:
        return list(dict.fromkeys(self.frame["species"]))

    def __len__(self) -> int:
        return len(self.frame)

    def subset(self, **equals: Any) -> "Dataset":
        """Rows where every named column equals the value given."""
        mask = np.ones(len(self.frame), bool)
        for col, value in equals.items():
            mask &= (self.frame[col] == value).to_numpy()
        return Dataset(self.frame[mask].reset_index(drop=True), self.name, dict(self.meta))

    def __add__(self, other: "Dataset") -> "Dataset":
        import pandas as pd

        frame = pd.concat([self.frame, other.frame], ignore_index=True)
        return Dataset(frame, f"{self.name}+{other.name}", {**self.meta, **other.meta})


def _harmonise(frame: "pd.DataFrame") -> "pd.DataFrame":
    out = frame.copy()
    for c in OBSERVATION + RELATIVE + ARM:
        if c not in out.columns:
            out[c] = ""
    out["reference_arm"] = [_cell_text(v) for v in out["reference_arm"]]
    out["row"] = np.arange(len(out)) + 2
    out["analyte"] = [_analyte_name(a) for a in out["analyte"]]
    times = [None if t is None or math.isnan(t) else t for t in map(_to_float, out["time_days"])]
    out["axis"] = ["age" if t is None and _cell_text(a) else "day" for t, a in zip(times, out["age_years"])]
    out["time_days"] = [np.nan if t is None else t for t in times]  # age axis: no day is invented
    out["value"] = [_to_float(v) for v in out["value"]]
    out["censored"] = out["censored"].fillna("").astype(str).str.strip()
    out["spread_type"] = out["spread_type"].fillna("").astype(str).str.strip().replace({"": "none"})
    n = [(_to_float(v) or np.nan) for v in out["n"]]
    out["n"] = n
    units, values, spreads, ses = [], [], [], []
    for _, row in out.iterrows():
        std, f = harmonise_unit(row["analyte"], row["species"], _cell_text(row["unit"]))
        units.append(std)
        values.append(row["value"] * f)
        kind, spread, count = row["spread_type"], str(row["spread"]).strip(), row["n"]
        sd = se = np.nan
        root_n = math.sqrt(count) if math.isfinite(count) else np.nan
        if kind == "SD":
            sd = _to_float(spread) * f
            se = sd / root_n
        elif kind == "SEM":
            se = _to_float(spread) * f
            sd = se * root_n
        elif kind == "CI95":  # interval of the mean, normal approximation
            lo, hi = parse_interval(spread)
            se = (hi - lo) * f / (2 * 1.959964)
            sd = se * root_n
        elif kind == "IQR":  # normal approximation: IQR = 1.349 SD
            lo, hi = parse_interval(spread)
            sd = (hi - lo) * f / 1.349
            se = sd / root_n
        # "range" depends on n and on the shape of the data: no SD is derived from it
        spreads.append(sd)
        ses.append(se)
    out["unit_std"] = units
    out["value_std"] = values
    out["spread_std"] = spreads
    out["se_std"] = ses
    return out


MAX_FILE_BYTES = 200_000_000
"""Largest CSV read (200 MB): a dataset of published observations is a few kB to a few MB; a
bigger file is not one (a raw export, an image renamed .csv)."""


def _read_rows(path: Path, header_rows: int = 1) -> tuple[list[list[str]], list[list[str]]]:
    """Header rows and data rows of a CSV file as text, or a :class:`DatasetError` saying why not.

    UTF-8 (with or without a byte-order mark); comma-separated, or semicolon- or tab-separated
    when the first line has no comma. Blank lines are skipped; every data row must have as many
    fields as the header.
    """
    label = str(path)

    def fail(message: str, row: int | None = None, column: str | None = None):
        raise DatasetError([Problem(row, column, message)], label)

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            fail(f"the file has {path.stat().st_size:,} bytes, more than a dataset can ({MAX_FILE_BYTES:,}; MAX_FILE_BYTES)")
        raw = path.read_bytes()
    except FileNotFoundError:
        fail("file not found")
    except IsADirectoryError:
        fail("is a folder, not a CSV file")
    except OSError as exc:
        fail(f"cannot be read: {exc.strerror or exc}")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        fail("the file is UTF-16 text (Excel's 'Unicode text'); save it as 'CSV UTF-8'")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        fail(f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at position {exc.start}; save the file as 'CSV UTF-8'",
             line)
    if "\x00" in text:
        fail(f"contains a NUL character (row {text[: text.index(chr(0))].count(chr(10)) + 1}): not a text CSV file")
    if not text.strip():
        fail("the file is empty: expected a header row with the columns " + ", ".join(REQUIRED))
    first = text.lstrip("\r\n").splitlines()[0]
    delimiter = "," if "," in first or not ("\t" in first or ";" in first) else ("\t" if "\t" in first else ";")
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if any(f.strip() for f in r)]
    except csv.Error as exc:
        fail(f"not a readable CSV: {exc}")
    if len(rows) < header_rows:
        fail(f"expected {header_rows} header row(s), the file has {len(rows)} non-blank row(s)")
    return rows[:header_rows], rows[header_rows:]


def read_dataset(source: "str | Path | pd.DataFrame", name: str | None = None) -> Dataset:
    """Read and validate a dataset (CSV path or DataFrame).

    Parameters
    ----------
    source : str, Path or pandas.DataFrame
        A CSV file (UTF-8; comma-, semicolon- or tab-separated) or a table in the documented
        format (``docs/data.md``).
    name : str, optional
        Label of the dataset in messages and fits (default: the file name).

    Returns
    -------
    Dataset
        The original columns plus the harmonised ones.

    Raises
    ------
    DatasetError
        Listing every problem with file row and column: an unreadable, empty or non-UTF-8
        file, a duplicated header, a row with too many or too few fields, and every invalid or
        implausible value (see :func:`validate`).
    """
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True).copy()
        label = name or "DataFrame"
    else:
        path = Path(source)
        label = name or path.name
        (header,), body = _read_rows(path)
        header = [h.strip() for h in header]
        bad = [Problem(k + 2, None, f"has {len(r)} fields, the header has {len(header)}")
               for k, r in enumerate(body) if len(r) != len(header)]
        if bad:
            raise DatasetError(bad, label)
        # spreadsheets export trailing empty columns (",,,"): unnamed columns without values are no data
        keep = []
        for j, h in enumerate(header):
            if h:
                keep.append(j)
            elif any(r[j].strip() for r in body):
                bad.append(Problem(1, f"#{j + 1}", f"column {j + 1} has values but no name in the header"))
        if bad:
            raise DatasetError(bad, label)
        header = [header[j] for j in keep]
        body = [[r[j] for j in keep] for r in body]
        frame = pd.DataFrame(body, columns=header, dtype=str) if body else pd.DataFrame(columns=header, dtype=str)
    frame.columns = [str(c).strip() for c in frame.columns]
    problems = validate(frame)
    if problems:
        raise DatasetError(problems, label)
    return Dataset(_harmonise(frame), label)


def list_datasets() -> list[str]:
    """Names of the bundled published datasets.

    Every ``*.csv`` of the bundled folder except the converters' ledgers of skipped rows
    (``*_skipped.csv``), which record what was left out and why and are not datasets.
    """
    return sorted(p.stem for p in BUNDLED.glob("*.csv") if not p.stem.endswith("_skipped"))


def load_dataset(name: str) -> Dataset:
    """A bundled dataset by name (see :func:`list_datasets`), with every provenance column."""
    path = BUNDLED / f"{name}.csv"
    if not path.exists() or name not in list_datasets():
        raise DatasetError([Problem(None, None, f"no bundled dataset {name!r}; bundled: {', '.join(list_datasets())}")], name)
    return read_dataset(path, name)


def read_digitized(
    source: "str | Path | pd.DataFrame",
    series: Mapping[str, Mapping[str, Any]],
    *,
    study_id: str,
    species: str,
    citation: str,
    source_location: str,
    time_unit: str = "day",
    doi_or_pmcid: str = "",
    statistic: str = "mean",
    name: str | None = None,
) -> Dataset:
    """Import figure-digitised points (WebPlotDigitizer "CSV, all datasets" export).

    The export has one (x, y) column pair per series, with series names on a first header
    row. ``series`` maps each series name to its ``arm`` and ``analyte`` and ``unit`` (and
    optionally ``n``, ``regimen``, ``initial``, ``spread_type``/``spread_series``: the name of a
    series holding the upper error-bar ends). Every row is marked ``digitised = yes`` and
    carries the provenance given.
    """
    import pandas as pd

    label = name or (str(source) if not isinstance(source, pd.DataFrame) else f"{study_id} (digitised)")
    # the export as columns of text: each series is an X and a Y column under its name
    if isinstance(source, pd.DataFrame):
        tops = [str(c[0]).strip() if isinstance(c, tuple) else str(c).strip() for c in source.columns]
        tops = ["" if t.startswith("Unnamed") else t for t in tops]
        data = [[_cell_text(v) for v in source.iloc[:, j]] for j in range(source.shape[1])]
    else:
        (top_row, _), body = _read_rows(Path(source), header_rows=2)
        width = max([len(top_row), *map(len, body)])
        tops = [t.strip() for t in top_row] + [""] * (width - len(top_row))
        data = [[r[j].strip() if j < len(r) else "" for r in body] for j in range(width)]
    columns: dict[str, list[int]] = {}
    last = None
    for j, top in enumerate(tops):  # WebPlotDigitizer leaves the second column of a pair unnamed
        if top:
            last = top
            if top in columns:
                raise DatasetError([Problem(1, top, "series name appears twice in the header")], label)
        if last is not None:
            columns.setdefault(last, []).append(j)
    problems = []
    if not isinstance(series, Mapping) or not series:
        raise DatasetError([Problem(None, None, "series must map at least one series name to its arm, analyte "
                                                "and unit")], label)
    for name_, spec in series.items():
        if name_ not in columns:
            problems.append(Problem(None, str(name_), f"series not in the file; it has {sorted(columns)}"))
            continue
        if not isinstance(spec, Mapping):
            problems.append(Problem(None, str(name_), "the series' description must be a mapping (arm, analyte, unit)"))
            continue
        for key in ("arm", "analyte", "unit"):
            if not str(spec.get(key, "")).strip():
                problems.append(Problem(None, str(name_), f"the series' description has no {key!r}"))
        if len(columns[name_]) < 2:
            problems.append(Problem(None, str(name_), "series has one column; expected an X and a Y column"))
        extra = spec.get("spread_series")
        if extra and (extra not in columns or len(columns[extra]) < 2):
            problems.append(Problem(None, str(extra), f"spread_series of {name_!r} is not an X/Y series of the file"))
    if problems:
        raise DatasetError(problems, label)
    try:
        scale = conversion_factor(time_unit, "day")
    except UnitError as exc:
        raise DatasetError([Problem(None, "time_unit", str(exc))], label) from None

    def numbers(j: int) -> list[float]:
        return [math.nan if (v := _to_float(x)) is None else v for x in data[j]]

    rows = []
    for name_, spec in series.items():
        xs, ys = numbers(columns[name_][0]), numbers(columns[name_][1])
        upper = numbers(columns[spec["spread_series"]][1]) if spec.get("spread_series") else None
        for k, (x, y) in enumerate(zip(xs, ys)):
            if math.isnan(x) and math.isnan(y):
                continue
            spread = ""
            if upper is not None and k < len(upper) and math.isfinite(upper[k]) and math.isfinite(y):
                spread = f"{abs(upper[k] - y):.6g}"
            rows.append(
                dict(
                    study_id=study_id, arm=spec["arm"], species=species, time_days=f"{x * scale:.6g}",
                    analyte=spec["analyte"], statistic=spec.get("statistic", statistic), value=f"{y:.6g}",
                    unit=spec["unit"], n=str(spec.get("n", "")),
                    spread_type=spec.get("spread_type", "none") if spread else "none", spread=spread,
                    regimen=spec.get("regimen", ""), initial=spec.get("initial", ""),
                    citation=citation, doi_or_pmcid=doi_or_pmcid, source_location=source_location,
                    confidence="digitised", digitised="yes",
                    notes=f"digitised from a figure, series {name_!r}",
                )
            )
    if not rows:
        raise DatasetError([Problem(None, None, "no points: every X and Y of the series given is empty")], label)
    return read_dataset(pd.DataFrame(rows), name or f"{study_id} (digitised)")


def provenance_columns(dataset: Dataset) -> list[str]:
    """The provenance and other descriptive columns the dataset carries."""
    known = set(REQUIRED) | set(OBSERVATION) | set(RELATIVE) | set(ARM) | {"row", "axis", "unit_std", "value_std", "spread_std", "se_std"}
    return [c for c in dataset.frame.columns if c not in known]


def iter_arms(dataset: Dataset) -> Iterable[tuple[tuple[str, str, str], "pd.DataFrame"]]:
    """(study, arm, subject) groups in order of appearance; subject is "" for group data."""
    frame = dataset.frame
    subjects = frame["subject"].astype(str).str.strip() if "subject" in frame.columns else [""] * len(frame)
    keys = list(dict.fromkeys(zip(frame["study_id"], frame["arm"], subjects)))
    for key in keys:
        yield key, frame[(frame["study_id"] == key[0]) & (frame["arm"] == key[1]) & (subjects == key[2])]
