"""Reading a dataset (CSV, Excel or a DataFrame): :func:`read_dataset`, the harmonised :class:`Dataset`, its arms."""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, cast

import numpy as np

from .analytes import analyte_name, harmonise_unit
from .checks import validate
from .columns import column_objects
from .schema import ARM, OBSERVATION, RELATIVE, REQUIRED, DatasetError, Problem, _cell_text, parse_interval, to_float

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


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
        return list(dict.fromkeys(column_objects(self.frame, "species")))

    def __len__(self) -> int:
        return len(self.frame)

    @classmethod
    def empty(cls, name: str = "no observations") -> "Dataset":
        """A dataset without rows (a fit to summary-level evidence alone)."""
        import pandas as pd

        columns = [*REQUIRED, *OBSERVATION, *RELATIVE, *ARM, "row", "unit_std", "value_std", "spread_std", "se_std"]
        return cls(pd.DataFrame({c: pd.Series(dtype=float if c.endswith("_std") or c == "row" else object)
                                 for c in columns}), name)

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
    out["analyte"] = [analyte_name(a) for a in out["analyte"]]
    times = [None if t is None or math.isnan(t) else t for t in map(to_float, out["time_days"])]
    out["axis"] = ["age" if t is None and _cell_text(a) else "day" for t, a in zip(times, out["age_years"])]
    out["time_days"] = [np.nan if t is None else t for t in times]  # age axis: no day is invented
    out["value"] = [to_float(v) for v in out["value"]]
    out["censored"] = out["censored"].fillna("").astype(str).str.strip()
    out["spread_type"] = out["spread_type"].fillna("").astype(str).str.strip().replace({"": "none"})
    n = [(to_float(v) or np.nan) for v in out["n"]]
    out["n"] = n
    units, values, spreads, ses = [], [], [], []
    for _, row in out.iterrows():
        std, f = harmonise_unit(row["analyte"], row["species"], _cell_text(row["unit"]))
        units.append(std)
        values.append(row["value"] * f)
        kind, spread, count = row["spread_type"], str(row["spread"]).strip(), row["n"]
        sd = se = np.nan
        root_n = math.sqrt(count) if math.isfinite(count) else np.nan
        # validate() has checked the spread of each kind (a number, or an interval) before harmonising
        if kind == "SD":
            sd = cast(float, to_float(spread)) * f
            se = sd / root_n
        elif kind == "SEM":
            se = cast(float, to_float(spread)) * f
            sd = se * root_n
        elif kind == "CI95":  # interval of the mean, normal approximation
            lo, hi = cast("tuple[float, float]", parse_interval(spread))
            se = (hi - lo) * f / (2 * 1.959964)
            sd = se * root_n
        elif kind == "IQR":  # normal approximation: IQR = 1.349 SD
            lo, hi = cast("tuple[float, float]", parse_interval(spread))
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
            fail(f"the file has {path.stat().st_size:,} bytes, more than a dataset can ({MAX_FILE_BYTES:,}; "
                 f"MAX_FILE_BYTES)")
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


def provenance_columns(dataset: Dataset) -> list[str]:
    """The provenance and other descriptive columns the dataset carries."""
    known = set(REQUIRED) | set(OBSERVATION) | set(RELATIVE) | set(ARM) | {"row", "axis", "unit_std", "value_std",
                                                                           "spread_std", "se_std"}
    return [c for c in dataset.frame.columns if c not in known]


def iter_arms(dataset: Dataset) -> Iterable[tuple[tuple[str, str, str], "pd.DataFrame"]]:
    """(study, arm, subject) groups in order of appearance; subject is "" for group data."""
    frame = dataset.frame
    subjects = ([str(s).strip() for s in column_objects(frame, "subject")] if "subject" in frame.columns
                else [""] * len(frame))  # (as astype(str).str.strip(), without a pandas string operation)
    positions: dict[tuple[str, str, str], list[int]] = {}
    for i, key in enumerate(zip(column_objects(frame, "study_id"), column_objects(frame, "arm"), list(subjects))):
        positions.setdefault(key, []).append(i)
    for key, rows in positions.items():  # (one pass over the rows, not one comparison of every row per arm)
        yield key, frame.iloc[rows]
