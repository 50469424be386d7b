"""Targets of the virtual POI population, read by code from the evidence and the review.

``build_population_targets(shared)`` writes ``population_targets.csv`` beside this module: each
row has the number, how it was read (the matched text), the file and line it came from. Nothing is
typed in: where a number stands in a note or a table cell (Yan 2020's categorical baselines, the
review's Table B row on spontaneous resumption, Bidet 2011), a regular expression reads it.
"""
from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

__all__ = ["POPULATION_TARGET_COLUMNS", "build_population_targets", "load_population_targets",
           "population_targets_path"]

POPULATION_TARGET_COLUMNS = ("target", "value", "low", "high", "unit", "n", "read_from", "citation", "file", "line",
                             "confidence")
"""Columns of ``population_targets.csv``."""

BASELINES = "evidence/clinical_baselines.csv"
NATURAL_HISTORY = "evidence/natural_history.csv"
REVIEW = "review/SCIENCE_REVIEW.md"

NORMAL_975 = 1.959963984540054
"""The standard normal's 97.5% quantile: a mean's 95% interval is mean +/- NORMAL_975 SD / sqrt(n)."""


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = []
        for row in reader:
            row["_line"] = str(reader.line_num)
            rows.append(row)
    return rows


def _one(rows: list[dict[str, str]], study: str, analyte: str) -> dict[str, str]:
    hits = [r for r in rows if r["study_id"] == study and r["analyte"] == analyte]
    if len(hits) != 1:
        raise ValueError(f"{BASELINES}: {len(hits)} rows for study {study!r}, analyte {analyte!r} (expected 1)")
    return hits[0]


def _fraction(text: str, pattern: str, what: str) -> tuple[float, int, str]:
    m = re.search(pattern, text)
    if m is None:
        raise ValueError(f"cannot read {what} from {text!r}")
    k, n = int(m.group(1)), int(m.group(2))
    return k / n, n, m.group(0)


def build_population_targets(shared_dir: str | Path, out_path: str | Path | None = None) -> str:
    """Read the population targets and write them (default: the bundled ``population_targets.csv``).

    Parameters
    ----------
    shared_dir : str or Path
        The team's ``shared`` folder (``../shared`` beside the repository).
    out_path : str or Path, optional
        Where to write.

    Returns
    -------
    str
        The CSV text written.
    """
    shared = Path(shared_dir)
    rows = _rows(shared / BASELINES)
    out: list[dict[str, str]] = []

    fsh = _one(rows, "YAN2020", "FSH")
    low, high = (float(x) for x in fsh["spread"].split("-"))
    out.append(dict(target="baseline_fsh_median", value=fsh["value"], low=repr(low), high=repr(high),
                    unit="IU/L", n=fsh["n"], read_from=f"value {fsh['value']}, IQR {fsh['spread']} (unit printed "
                    f"'{fsh['unit']}', read as IU/L as the row's note says)", citation=fsh["citation"],
                    file=BASELINES, line=fsh["_line"], confidence=fsh["confidence"]))
    e2 = _one(rows, "YAN2020", "E2")
    low, high = (float(x) for x in e2["spread"].split("-"))
    out.append(dict(target="baseline_e2_median", value=e2["value"], low=repr(low), high=repr(high), unit=e2["unit"],
                    n=e2["n"], read_from=f"value {e2['value']}, IQR {e2['spread']} {e2['unit']}",
                    citation=e2["citation"], file=BASELINES, line=e2["_line"], confidence=e2["confidence"]))
    for analyte, target, pattern, what in (
        ("AMH", "baseline_amh_undetectable", r"(\d+)/(\d+) \([\d.]+%\) had AMH <0\.06", "AMH below 0.06 ng/mL"),
        ("AFC", "baseline_afc_zero", r"total AFC 0 in (\d+)/(\d+)", "AFC 0"),
    ):
        row = _one(rows, "YAN2020", analyte)
        frac, n, matched = _fraction(row["notes"], pattern, what)
        out.append(dict(target=target, value=repr(frac), low="", high="", unit="1", n=str(n),
                        read_from=f"notes: '{matched}'", citation=row["citation"], file=BASELINES, line=row["_line"],
                        confidence=row["confidence"]))

    pof = [r for r in _rows(shared / NATURAL_HISTORY) if r["study_id"] == "Sharief2018_POF"
           and r["arm"] == "premature ovarian failure" and r["analyte"] == "FSH" and r["statistic"] == "mean"]
    if len(pof) != 1 or pof[0]["spread_type"] != "SD":
        raise ValueError(f"{NATURAL_HISTORY}: expected one Sharief2018_POF FSH mean with an SD, found {len(pof)}")
    row = pof[0]
    mean, sd, n = float(row["value"]), float(row["spread"]), int(row["n"])
    half = NORMAL_975 * sd / math.sqrt(n)
    out.append(dict(target="pof_fsh_mean", value=row["value"], low=repr(mean - half), high=repr(mean + half),
                    unit="IU/L", n=row["n"], read_from=f"mean {row['value']}, SD {row['spread']}, n {n} (unit printed "
                    f"'{row['unit']}'); low-high: the mean's 95% interval, mean +/- 1.96 SD / sqrt(n)",
                    citation=row["citation"], file=NATURAL_HISTORY, line=row["_line"], confidence=row["confidence"]))

    lines = (shared / REVIEW).read_text(encoding="utf-8").splitlines()
    hits = [(i, line) for i, line in enumerate(lines, start=1) if line.startswith("| Idiopathic POI in women")]
    if len(hits) != 1:
        raise ValueError(f"{REVIEW}: {len(hits)} Table B rows 'Idiopathic POI in women' (expected 1)")
    number, text = hits[0]
    m = re.search(r"Untreated: (\d+) % resume, (\d+) % of them within 1 y \((Bidet 2011), (\S+)\)", text)
    if m is None:
        raise ValueError(f"{REVIEW} line {number}: cannot read the spontaneous resumption rate")
    resume, within = float(m.group(1)) / 100, float(m.group(2)) / 100
    citation = f"{m.group(3)}, {m.group(4)} (as quoted by the review, Table B)"
    out.append(dict(target="spontaneous_resumption", value=repr(resume), low="", high="", unit="1", n="",
                    read_from=f"'{m.group(0)}'", citation=citation, file=REVIEW, line=str(number),
                    confidence="medium (secondary quote)"))
    out.append(dict(target="spontaneous_resumption_first_year", value=repr(resume * within), low="", high="",
                    unit="1", n="", read_from=f"'{m.group(0)}': {m.group(1)} % x {m.group(2)} %", citation=citation,
                    file=REVIEW, line=str(number), confidence="medium (secondary quote)"))

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=POPULATION_TARGET_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(out)
    text = buffer.getvalue()
    path = Path(out_path) if out_path is not None else population_targets_path()
    path.write_text(text, encoding="utf-8", newline="")
    return text


def population_targets_path() -> Path:
    """Path of the bundled ``population_targets.csv``."""
    return Path(__file__).with_name("population_targets.csv")


def load_population_targets(path: str | Path | None = None) -> dict[str, dict]:
    """The population targets by name (``value``, ``low``, ``high`` as floats, NaN where empty)."""
    with Path(path or population_targets_path()).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for col in ("value", "low", "high"):
            row[col] = float(row[col]) if row[col] else math.nan
    return {row["target"]: row for row in rows}


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(build_population_targets(sys.argv[1] if len(sys.argv) > 1 else "../shared"))
