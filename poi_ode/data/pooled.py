"""Pooled effects: the summary-level data kind (meta-analysis results), read and validated by
:func:`read_pooled_effects`.

One row per pooled effect of a meta-analysis: treated versus untreated POI animals, for one
analyte and one subgroup, as printed (standardised mean difference, ratio of means, mean
difference or risk ratio, with its confidence interval, number of studies and heterogeneity).
These are calibration targets for model-based meta-analysis (:mod:`poi_ode.mbma`), not
observations of the tidy format (:func:`poi_ode.data.read_dataset`). The columns are documented
in ``docs/data.md`` (section "Pooled effects"); rows are numbered as in the CSV file (header =
row 1) in every message.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from .reading import _read_rows
from .schema import DatasetError, Problem, _cell_text, to_float

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "PooledEffectsError",
    "read_pooled_effects",
    "is_pooled_effects",
    "POOLED_REQUIRED",
    "POOLED_OPTIONAL",
    "POOLED_COLUMNS",
    "POOLED_ANALYTES",
    "MEASURES",
    "RATIO_MEASURES",
    "POOLING",
    "SUBGROUP_KINDS",
    "THERAPIES",
    "CONFIDENCE",
]

#: columns every pooled-effects file must have
POOLED_REQUIRED = ("effect_id", "therapy", "meta_analysis", "analyte", "subgroup_kind", "subgroup_value", "measure",
                   "estimate", "ci_low", "ci_high", "ci_level", "pooling")
#: documented optional columns (any other column is kept as it is)
POOLED_OPTIONAL = ("citation", "subgroup", "k_studies", "n_treated", "n_control", "I2_percent", "confidence", "flag",
                   "source_location", "source_url", "notes", "evidence_file", "evidence_row")
#: the documented columns in the order the bundled files use
POOLED_COLUMNS = ("effect_id", "therapy", "meta_analysis", "citation", "analyte", "subgroup", "subgroup_kind",
                  "subgroup_value", "measure", "estimate", "ci_low", "ci_high", "ci_level", "k_studies", "n_treated",
                  "n_control", "pooling", "I2_percent", "confidence", "flag", "source_location", "source_url", "notes",
                  "evidence_file", "evidence_row")

THERAPIES = ("msc", "exosome")
#: SMD: standardised mean difference (not said whether Cohen's d or Hedges' g); hedges_g; ROM: ratio of means;
#: MD: mean difference (analyte units); RR: risk ratio
MEASURES = ("SMD", "hedges_g", "ROM", "MD", "RR")
#: measures on a ratio scale: estimate and CI > 0, the CI symmetric on the log scale
RATIO_MEASURES = ("ROM", "RR")
POOLING = ("random", "fixed", "not stated")
SUBGROUP_KINDS = ("overall", "species", "induction", "source", "cell_type", "dose", "route")
CONFIDENCE = ("high", "medium", "low")

#: analytes of pooled effects: the model's names where it has one (``poi_ode.data.analytes``), else a descriptive name
POOLED_ANALYTES = ("AMH", "E2", "FSH", "LH", "InhB", "primordial", "primary", "secondary", "antral",
                   "mature_follicles", "total_follicles", "ovarian_weight", "estrous_cycle_length",
                   "estrous_cycle_improvement", "pregnancies")

_NUMERIC = ("estimate", "ci_low", "ci_high", "ci_level", "k_studies", "n_treated", "n_control", "I2_percent")
_WHOLE = ("k_studies", "n_treated", "n_control")
_Z95 = 1.959963984540054


class PooledEffectsError(DatasetError):
    """A pooled-effects table failed validation; ``problems`` lists every problem with its row and column."""


def is_pooled_effects(columns: "list[str] | tuple[str, ...]") -> bool:
    """Whether a header is that of a pooled-effects table (it has ``effect_id`` and ``measure``)."""
    names = {str(c).strip() for c in columns}
    return {"effect_id", "measure"} <= names


def _problems(text: "pd.DataFrame") -> list[Problem]:
    problems: list[Problem] = []
    names = [str(c) for c in text.columns]
    for c in dict.fromkeys(c for c in names if names.count(c) > 1):
        problems.append(Problem(1, c, f"column {c!r} appears {names.count(c)} times in the header; keep one"))
    if problems:
        return problems
    missing = [c for c in POOLED_REQUIRED if c not in text.columns]
    problems += [Problem(None, c, "required column is missing") for c in missing]
    if text.empty:
        problems.append(Problem(None, None, "the table has no rows"))
    if missing or text.empty:
        return problems
    seen: dict[str, int] = {}
    for i, row in text.iterrows():
        r = int(i) + 2
        for c in POOLED_REQUIRED:
            if row[c] == "":
                problems.append(Problem(r, c, "empty"))
        for c, allowed in (("therapy", THERAPIES), ("measure", MEASURES), ("pooling", POOLING),
                           ("subgroup_kind", SUBGROUP_KINDS), ("analyte", POOLED_ANALYTES)):
            if row[c] and row[c] not in allowed:
                problems.append(Problem(r, c, f"{row[c]!r} is not one of {', '.join(allowed)}"))
        if row.get("confidence", "") and row["confidence"] not in CONFIDENCE:
            problems.append(Problem(r, "confidence", f"{row['confidence']!r} is not one of {', '.join(CONFIDENCE)} "
                                                     "or empty"))
        if row["effect_id"]:
            if row["effect_id"] in seen:
                problems.append(Problem(r, "effect_id", f"{row['effect_id']!r} repeats row {seen[row['effect_id']]}"))
            seen.setdefault(row["effect_id"], r)
        if row["subgroup_kind"] == "overall" and row["subgroup_value"] not in ("", "all"):
            problems.append(Problem(r, "subgroup_value", f"{row['subgroup_value']!r}: an overall effect has "
                                                         "subgroup_value 'all'"))
        values: dict[str, float] = {}
        for c in _NUMERIC:
            if c not in text.columns or row[c] == "":
                continue
            x = to_float(row[c])
            if x is None or not math.isfinite(x):
                problems.append(Problem(r, c, f"{row[c]!r} is not a number"))
                continue
            if c in _WHOLE and not (x >= 1 and x == int(x)):
                problems.append(Problem(r, c, f"{row[c]!r} is not a whole number >= 1"))
                continue
            values[c] = x
        level = values.get("ci_level")
        if level is not None and not 0 < level < 1:
            problems.append(Problem(r, "ci_level", f"{row['ci_level']!r} is not a level in (0, 1), e.g. 0.95"))
        i2 = values.get("I2_percent")
        if i2 is not None and not 0 <= i2 < 100:
            problems.append(Problem(r, "I2_percent", f"{row['I2_percent']!r} is not a percentage in [0, 100)"))
        est, lo, hi = (values.get(c) for c in ("estimate", "ci_low", "ci_high"))
        if lo is not None and hi is not None and lo > hi:
            problems.append(Problem(r, "ci_low", f"ci_low {row['ci_low']} > ci_high {row['ci_high']}: the interval "
                                                 "is reversed"))
        elif est is not None and lo is not None and hi is not None and not lo <= est <= hi:
            problems.append(Problem(r, "estimate", f"estimate {row['estimate']} is outside its interval "
                                                   f"[{row['ci_low']}, {row['ci_high']}]"))
        if row["measure"] in RATIO_MEASURES:
            for c in ("estimate", "ci_low", "ci_high"):
                if values.get(c) is not None and values[c] <= 0:
                    problems.append(Problem(r, c, f"{row[c]} is not > 0: a {row['measure']} is a ratio"))
    return problems


def _harmonise(frame: "pd.DataFrame") -> "pd.DataFrame":
    import numpy as np
    from scipy import stats

    out = frame.copy()
    for c in POOLED_OPTIONAL:
        if c not in out.columns:
            out[c] = ""
    out["row"] = np.arange(len(out)) + 2
    for c in _NUMERIC:
        out[c] = [np.nan if to_float(v) is None else to_float(v) for v in out[c]]
    se = []
    for _, row in out.iterrows():
        z = float(stats.norm.ppf(0.5 + row["ci_level"] / 2))
        lo, hi = row["ci_low"], row["ci_high"]
        if row["measure"] in RATIO_MEASURES:
            lo, hi = math.log(lo), math.log(hi)
        se.append((hi - lo) / (2 * z))
    out["se"] = se
    return out


def read_pooled_effects(source: "str | Path | pd.DataFrame", name: str | None = None) -> "pd.DataFrame":
    """Read and validate a table of pooled effects (CSV path or DataFrame).

    Parameters
    ----------
    source : str, Path or pandas.DataFrame
        A CSV file (UTF-8; comma-, semicolon- or tab-separated) or a table with the columns of
        ``docs/data.md``, section "Pooled effects".
    name : str, optional
        Label in messages (default: the file name).

    Returns
    -------
    pandas.DataFrame
        Every original column (text as given), the documented optional columns (blank where
        absent), ``estimate, ci_low, ci_high, ci_level, k_studies, n_treated, n_control,
        I2_percent`` as floats (NaN where blank), ``se``: the standard error behind the
        confidence interval (normal approximation; on the log scale for ``ROM`` and ``RR``,
        whose estimate stays on the ratio scale), and ``row``: the file row (header = 1).

    Raises
    ------
    PooledEffectsError
        Listing every problem with its row and column: a missing required column or empty
        required field; an unknown therapy, measure, pooling, subgroup kind, analyte or
        confidence; a field that is not a number; a whole-number field (``k_studies``,
        ``n_treated``, ``n_control``) below 1 or fractional; ``ci_level`` outside (0, 1);
        ``I2_percent`` outside [0, 100); a reversed interval or an estimate outside it; a ratio
        measure <= 0; a repeated ``effect_id``; and for a file, what :func:`read_dataset`
        reports (not UTF-8, wrong field count...).
    """
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True).copy()
        label = name or "DataFrame"
    else:
        path = Path(source)
        label = name or path.name
        try:
            (header,), body = _read_rows(path)
        except DatasetError as exc:
            problems = [Problem(p.row, p.column, "the file is empty: expected a header row with the columns "
                                + ", ".join(POOLED_REQUIRED)) if p.message.startswith("the file is empty") else p
                        for p in exc.problems]
            raise PooledEffectsError(problems, label) from None
        header = [h.strip() for h in header]
        bad = [Problem(k + 2, None, f"has {len(r)} fields, the header has {len(header)}")
               for k, r in enumerate(body) if len(r) != len(header)]
        if bad:
            raise PooledEffectsError(bad, label)
        frame = pd.DataFrame(body, columns=header, dtype=str) if body else pd.DataFrame(columns=header, dtype=str)
    frame.columns = [str(c).strip() for c in frame.columns]
    text = frame.apply(lambda col: col.map(_cell_text)) if len(frame.columns) else frame
    problems = _problems(text)
    if problems:
        raise PooledEffectsError(problems, label)
    return _harmonise(text)
