"""Validation of a dataset frame: every problem with its row and column (:func:`validate`), time axes of an arm."""
from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from ..errors import PoiOdeError, UnitError
from . import plausibility
from .analytes import ANALYTES, analyte_name, harmonise_unit, relative_factor
from .columns import column_objects
from .schema import (
    CENSORING,
    REQUIRED,
    SPECIES,
    SPREAD_TYPES,
    STATISTICS,
    Problem,
    _cell_text,
    parse_interval,
    parse_regimen,
    to_float,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


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
                        problems.append(Problem(r, c,
                                                "empty: give time_days, or age_years for an observation on the age "
                                                "axis"))
                else:
                    problems.append(Problem(r, c, "empty"))
        species = row["species"]
        if species and species not in SPECIES:
            problems.append(Problem(r, "species", f"unknown species {species!r}; one of {SPECIES}"))
        analyte = analyte_name(row["analyte"]) if row["analyte"] else None
        if row["analyte"] and analyte is None:
            problems.append(Problem(r, "analyte", f"unknown analyte {row['analyte']!r}; known: {', '.join(ANALYTES)}"))
        if row["statistic"] and row["statistic"] not in STATISTICS:
            problems.append(Problem(r, "statistic", f"{row['statistic']!r} is not one of {STATISTICS}"))
        t = to_float(row["time_days"])
        lifespan = plausibility.max_days(species)
        if row["time_days"] and (t is None or not math.isfinite(t)):
            problems.append(Problem(r, "time_days", f"{row['time_days']!r} is not a number"))
        elif t is not None and t < 0:
            problems.append(Problem(r, "time_days", f"time {t:g} is before the arm's first dose (day 0)"))
        elif t is not None and lifespan is not None and t > lifespan:
            problems.append(Problem(r, "time_days", f"day {t:g} is beyond the longest documented {species} life "
                                    f"({plausibility.LIFESPAN_YEARS[species]:g} years = {lifespan:.0f} days): "
                                    "time_days is in days since the arm's first dose"))
        value = to_float(row["value"])
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
        age_value = to_float(age)
        if age_axis[i]:
            if age_value is None or not math.isfinite(age_value) or age_value < 0:
                problems.append(Problem(r, "age_years",
                                        f"{age!r} is not a number >= 0 (the age, in years, of an observation on the "
                                        f"age axis)"))
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
                problems.append(Problem(int(group.index[0]) + 2, "regimen",
                                        f"arm {study}/{arm} has different regimens on different rows"))
            start = first_dose.get((study, arm))
            if start is not None and start > 0:
                for i, row in group.iterrows():
                    t = to_float(row["time_days"])
                    if t is not None and math.isfinite(t) and t < start:
                        problems.append(Problem(int(i) + 2, "time_days",
                                                f"time {t:g} is before the arm's first dose (day {start:g})"))
    # on the age axis the age tells observations apart (on the day axis it is the same on every row of an arm)
    key = [c for c in ("study_id", "arm", "subject", "time_days", "age_years", "analyte", "statistic")
           if c in text.columns]
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
                            f"arm {study}/{arm} is on the age axis (untreated natural history): its regimen must be "
                            f"empty",
                        ))
        elif "age_years" in text.columns:
            ages = list(dict.fromkeys(text.loc[rows, "age_years"]))
            if len(ages) > 1:
                problems.append(Problem(
                    rows[0] + 2, "age_years",
                    f"arm {study}/{arm} has different ages at day 0 on different rows "
                    f"({', '.join(repr(a) for a in ages)}); "
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
        axis = column_objects(rows, "axis")  # (the values of rows["axis"].tolist() for a column of strings)
        if all(type(a) is str for a in axis):  # (the harmonised column: plain strings, compared here in Python)
            return all(a == "age" for a in axis)
        return bool((rows["axis"] == "age").all())
    if "age_years" not in rows.columns:
        return False
    times = [to_float(t) for t in rows["time_days"]]
    ages = [to_float(a) for a in rows["age_years"]]
    return all((t is None or math.isnan(t)) and a is not None and not math.isnan(a) for t, a in zip(times, ages))


def _spread_problems(row, r: int | None) -> list[Problem]:
    out = []
    kind = row.get("spread_type", "") or "none"
    spread = row.get("spread", "")
    n_raw = row.get("n", "")
    n = to_float(n_raw)
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
        s = to_float(spread)
        if s is None or not math.isfinite(s) or s < 0:
            out.append(Problem(r, "spread", f"{spread!r} is not a non-negative number"))
        if not n_raw:
            out.append(Problem(r, "n", f"spread ({kind}) without n"))
    elif parse_interval(spread) is None:
        out.append(Problem(r, "spread", f"{spread!r} is not an interval like 0.1-1.78"))
    return out
