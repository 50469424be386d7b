"""The columns of a dataset and the parsing of its cells: numbers, intervals, regimens; the problems found."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..errors import PoiOdeError

REQUIRED = ("study_id", "arm", "species", "time_days", "analyte", "statistic", "value", "unit")


OBSERVATION = ("subject", "n", "spread_type", "spread", "censored")


ARM = ("regimen", "initial", "age_years")


RELATIVE = ("reference_arm",)


PROVENANCE = ("citation", "doi_or_pmcid", "source_location", "confidence", "notes", "digitised")


STATISTICS = ("individual", "mean", "median", "unspecified")


SPREAD_TYPES = ("none", "SD", "SEM", "IQR", "range", "CI95")


CENSORING = ("", "below", "above")


SPECIES = ("human", "mouse", "rat")


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


def _cell_text(raw: Any) -> str:
    """A table cell as stripped text; missing values (None, NaN, NA) are ""."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ""
    text = str(raw).strip()
    return "" if text in ("nan", "None", "<NA>", "NaN") else text


def to_float(raw: Any) -> float | None:
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
        doses.append(Dose(day, fields[1].strip(), amount, fields[3].strip(),
                          fields[4].strip() if len(fields) == 5 else None))
    return Regimen(doses)
