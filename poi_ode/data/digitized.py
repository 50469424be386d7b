"""Reading values digitised from published figures (:func:`read_digitized`) into a dataset."""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import UnitError
from ..units import conversion_factor
from .reading import Dataset, _read_rows, read_dataset
from .schema import DatasetError, Problem, _cell_text, to_float

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


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
        return [math.nan if (v := to_float(x)) is None else v for x in data[j]]

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
