"""Convert the team's natural-history evidence sheets into bundled datasets, by code.

The evidence sheets (``../shared/evidence/``: ``natural_history.csv`` and
``human_follicle_counts_by_age.dat``) hold published numbers with their provenance. This module
turns the usable rows into datasets of the tidy format (``docs/data.md``) on the **age axis**
(``time_days`` blank, ``age_years`` given): cross-sectional observations of untreated women by
age. It never types in, rounds or estimates a number: every value is copied as a string from
the evidence file, and every row carries ``evidence_file`` and ``evidence_row`` (the record of
the CSV file, header = row 1, as in ``docs/data.md``), the evidence's provenance columns, and
the evidence's original fields in ``evidence_*`` columns wherever the converter had to change
a field (analyte name, unit, age range, censoring...).

Rules (each applied by code and written into ``notes``):

* ``human_follicle_counts``: the 110 rows ``smFollicle_Block_Richardson_Gougeon``, checked
  value by value against ``human_follicle_counts_by_age.dat``; one study per source code.
* ``human_amh_by_age``: the ``deKat2016_Doetinchem`` rows with an age. A median printed as
  ``0.00`` becomes censored below the assay limit written in the row's notes (``<0.0018
  ng/mL``); rows by time to menopause have no age and are skipped.
* ``human_fsh_inhibin_e2_by_age``: human rows whose analyte is FSH, estradiol or inhibin B, with
  an age or an age range, in untreated healthy women (regimen ``none``). An age range ``a-b`` is
  kept in ``age_low``/``age_high`` and ``age_years`` is its midpoint. Immunoreactive (total)
  inhibin in U/L is not inhibin B and is left out.

Rows left out, and rows kept with a row-specific decision, are listed with the reason in
``natural_history_skipped.csv`` (not a dataset: :func:`poi_ode.data.list_datasets` skips
``*_skipped.csv``).

Run ``python -m poi_ode.data.evidence [EVIDENCE_DIR] [OUT_DIR]`` from the repository root
(defaults: ``../shared/evidence`` and the package's ``poi_ode/data/bundled/``).
"""
from __future__ import annotations

import csv
import math
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..errors import PoiOdeError, UnitError

__all__ = ["convert_natural_history", "ConversionError", "CONVERTED_DATASETS", "SKIPPED_FILE", "COLUMNS", "main",
           "converter_main", "write_table"]

NATURAL_HISTORY = "natural_history.csv"
FOLLICLE_DAT = "human_follicle_counts_by_age.dat"
SKIPPED_FILE = "natural_history_skipped.csv"

FOLLICLES = "human_follicle_counts"
AMH = "human_amh_by_age"
HORMONES = "human_fsh_inhibin_e2_by_age"
#: the datasets written by :func:`convert_natural_history` (not copies of ``shared/data``)
CONVERTED_DATASETS = (FOLLICLES, AMH, HORMONES)

FOLLICLE_STUDY = "smFollicle_Block_Richardson_Gougeon"
AMH_STUDY = "deKat2016_Doetinchem"
HORMONE_TARGETS = ("FSH", "E2", "InhB")

#: the columns of every converted dataset, in order
COLUMNS = (
    "study_id", "arm", "subject", "species", "time_days", "age_years", "age_low", "age_high",
    "analyte", "statistic", "value", "unit", "n", "spread_type", "spread", "censored", "regimen",
    "population", "condition",
    "citation", "doi_or_pmcid", "source_location", "source_url", "confidence", "notes",
    "evidence_file", "evidence_row", "source_code", "dat_row",
    "evidence_time_days", "evidence_age_years", "evidence_analyte", "evidence_value", "evidence_unit",
    "evidence_n", "evidence_spread_type", "evidence_spread", "evidence_censored", "evidence_regimen",
)
SKIPPED_COLUMNS = (
    "evidence_file", "evidence_row", "study_id", "arm", "age_years", "analyte", "value", "unit",
    "target_dataset", "decision", "reason",
)
#: provenance columns copied verbatim (``notes``, and ``confidence`` where the converter flags a doubt, get the
#: converter's remarks appended after SEP)
PROVENANCE = ("citation", "doi_or_pmcid", "source_location", "source_url", "confidence", "notes")
SEP = " || converter: "

# Per-woman or per-ovary: what the sources we could read say (see the bundled README).
FOLLICLE_UNIT_NOTE = (
    "UNIT UNRESOLVED, kept as 'follicles' per woman as the evidence row states, not converted: sm documents only "
    "'counted from sectioned ovaries'; Richardson et al. 1987 (JCEM 65:1231, abstract) sectioned one ovary per "
    "woman and report per-ovary means; Forabosco 2007 (Fertil Steril 88:675) counts per ovary; no source read "
    "says whether Block 1952/1953 counted one or both ovaries or whether Faddy et al. doubled one-ovary counts. "
    "A per-ovary reading would double the per-woman reserve: scale uncertain by a factor of 2 (sources and "
    "reasoning: bundled README.md)"
)
FOLLICLE_MAPPING_NOTE = (
    "the source-code mapping above is uncertain: source 3 has 52 women aged 19-50 (as Faddy & Gosden 1995, "
    "natural_history.csv row FaddyGosden1995_dynamics), Richardson 1987 studied 17 women aged 45-55 (closer to "
    "source 4): study_id names the source code only"
)


class ConversionError(PoiOdeError, ValueError):
    """The evidence files are not what the converter expects (it stops rather than guess)."""


# ---------------------------------------------------------------------------------------------
# reading


def _read_evidence(path: Path) -> list[dict[str, str]]:
    """Rows of an evidence CSV as strings, each with ``_row``: its record number (header = 1)."""
    if not path.exists():
        raise ConversionError(f"{path}: evidence file not found")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = []
        for k, row in enumerate(reader):
            clean = {key: (value if value is not None else "") for key, value in row.items()}
            clean["_row"] = str(k + 2)
            rows.append(clean)
    return rows


def _read_dat(path: Path) -> list[dict[str, str]]:
    """The whitespace-separated ``Age Count Source`` file; ``_row`` is the line number (header = 1)."""
    if not path.exists():
        raise ConversionError(f"{path}: follicle count file not found")
    out = []
    header: list[str] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if header is None:
            header = fields
            if header != ["Age", "Count", "Source"]:
                raise ConversionError(f"{path}: header {header} is not 'Age Count Source'")
            continue
        if len(fields) != 3:
            raise ConversionError(f"{path}, line {number}: expected 3 fields, got {fields}")
        out.append(dict(zip(header, fields), _row=str(number)))
    return out


def _number(text: str) -> float | None:
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _age(text: str) -> tuple[str, str, str, str] | None:
    """(age_years, age_low, age_high, remark) from a printed age; None if it is not usable.

    A number is copied as printed. A range ``a-b`` keeps both ends (copied as printed) and
    ``age_years`` is their midpoint, computed here and said so in the remark.
    """
    text = str(text).strip()
    if _number(text) is not None:
        return text, "", "", ""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)", text)
    if m:
        lo, hi = float(m.group(1)), float(m.group(2))
        if lo <= hi:
            mid = format((lo + hi) / 2, ".15g")
            return mid, m.group(1), m.group(2), (
                f"age group printed as {text}: age_years {mid} is the midpoint of the printed ends, "
                f"both kept in age_low/age_high"
            )
    return None


def _whole(text: str) -> str:
    """``n`` copied if it is a whole number >= 1, else blank (the printed n stays in evidence_n)."""
    value = _number(text)
    return str(text).strip() if value is not None and value >= 1 and value == int(value) else ""


# ---------------------------------------------------------------------------------------------
# building rows


def _base(ev: dict[str, str], evidence_file: str) -> dict[str, str]:
    out = {c: "" for c in COLUMNS}
    for c in ("study_id", "arm", "species", "statistic", "value"):
        out[c] = ev.get(c, "").strip()
    for c in PROVENANCE:
        out[c] = ev.get(c, "")
    out["evidence_file"] = evidence_file
    out["evidence_row"] = ev["_row"]
    for c in ("time_days", "age_years", "analyte", "value", "unit", "n", "spread_type", "spread", "censored",
              "regimen"):
        out[f"evidence_{c}"] = ev.get(c, "")
    return out


def _note(row: dict[str, str], remarks: Iterable[str]) -> None:
    remarks = [r for r in remarks if r]
    if remarks:
        row["notes"] = row["notes"] + SEP + "; ".join(remarks)


def _skip(ev: dict[str, str], evidence_file: str, target: str, decision: str, reason: str) -> dict[str, str]:
    return dict(
        evidence_file=evidence_file, evidence_row=ev["_row"], study_id=ev.get("study_id", ""), arm=ev.get("arm", ""),
        age_years=ev.get("age_years", ""), analyte=ev.get("analyte", ""), value=ev.get("value", ""),
        unit=ev.get("unit", ""), target_dataset=target, decision=decision, reason=reason,
    )


def _age_axis_remark(time_days: str) -> str:
    printed = f"time_days {time_days.strip()!r}" if time_days.strip() else "time_days blank"
    return f"evidence {printed}: cross-sectional, no dose day; row put on the age axis"


def _follicles(rows: Sequence[dict[str, str]], dat: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    source = [r for r in rows if r["study_id"] == FOLLICLE_STUDY]
    if len(source) != len(dat):
        raise ConversionError(
            f"{NATURAL_HISTORY} has {len(source)} {FOLLICLE_STUDY} rows but {FOLLICLE_DAT} has {len(dat)} counts"
        )
    out = []
    mismatches = []
    for ev, d in zip(source, dat):
        m = re.search(r"source code (\d+)", ev["arm"])
        code = m.group(1) if m else ""
        if (_number(ev["age_years"]), _number(ev["value"]), code) != (_number(d["Age"]), _number(d["Count"]),
                                                                      d["Source"]):
            mismatches.append(f"row {ev['_row']} ({ev['age_years']}, {ev['value']}, {code!r}) vs {FOLLICLE_DAT} line "
                              f"{d['_row']} ({d['Age']}, {d['Count']}, {d['Source']})")
            continue
        row = _base(ev, NATURAL_HISTORY)
        row.update(
            study_id=f"{FOLLICLE_STUDY}_src{code}", subject=f"sm{int(d['_row']) - 1:03d}",
            age_years=ev["age_years"].strip(),
            analyte="primordial", unit="follicles", n=_whole(ev["n"]), spread_type="none", censored="",
            population="girls and women whose ovaries were sectioned at autopsy or surgery (R package sm, data set "
                       "follicle)",
            condition="natural history (no treatment recorded)", source_code=code, dat_row=d["_row"],
        )
        row["confidence"] += SEP + ("unit (per woman or per ovary) unresolved: scale uncertain by a factor of 2, "
                                   "see notes")
        _note(row, [
            _age_axis_remark(ev["time_days"]),
            f"age, count and source code identical to {FOLLICLE_DAT} line {d['_row']}",
            "analyte 'primordial' stands for the evidence's total non-growing (primordial-dominated) follicle count",
            FOLLICLE_UNIT_NOTE,
            FOLLICLE_MAPPING_NOTE,
        ])
        out.append(row)
    if mismatches:
        raise ConversionError("follicle counts disagree with the .dat file:\n  " + "\n  ".join(mismatches))
    return out


_LIMIT = re.compile(r"<\s*([0-9]*\.?[0-9]+)\s*(ng/mL|pmol/L|pg/mL|IU/L)", re.IGNORECASE)


def _amh(rows: Sequence[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    out, ledger = [], []
    for ev in (r for r in rows if r["study_id"] == AMH_STUDY):
        age = _age(ev["age_years"])
        if age is None:
            if "menopause" in ev["arm"].lower():
                reason = (f"no chronological age: the row is on the time-to-menopause axis ({ev['arm']}); the format's "
                          "age axis has no place for it and no age can be derived from it without guessing")
            else:
                reason = f"no usable age (age_years {ev['age_years']!r}): neither a number nor a range a-b"
            ledger.append(_skip(ev, NATURAL_HISTORY, AMH, "skipped", reason))
            continue
        row = _base(ev, NATURAL_HISTORY)
        row.update(age_years=age[0], age_low=age[1], age_high=age[2], analyte="AMH", unit=ev["unit"].strip(),
                   n=_whole(ev["n"]), spread_type=ev["spread_type"].strip(), spread=ev["spread"].strip(),
                   population="Doetinchem cohort, general population, Dutch women (de Kat 2016)",
                   condition="natural history (no treatment)")
        remarks = [_age_axis_remark(ev["time_days"]), age[3]]
        if not row["n"]:
            remarks.append(f"n left blank: {ev['n']!r} is the whole cohort, not the number of women at this age")
        value = _number(ev["value"])
        if value == 0:
            m = _LIMIT.search(ev["notes"])
            if not m or m.group(2).lower() != row["unit"].lower():
                ledger.append(_skip(ev, NATURAL_HISTORY, AMH, "skipped",
                                    "median printed as 0 and no assay limit in the row's notes (in the row's unit) to "
                                    "censor it at: a zero cannot enter a log-normal fit"))
                continue
            row.update(value=m.group(1), censored="below", spread_type="none", spread="")
            remarks.append(
                f"median printed as {ev['value']}: censored below the assay limit {m.group(1)} {m.group(2)} copied "
                f"from the notes; the printed IQR {ev['spread']} (also below the limit) is not used as a spread"
            )
            ledger.append(_skip(ev, NATURAL_HISTORY, AMH, "kept, censored",
                                f"median printed as {ev['value']} {ev['unit']}: value set to the assay limit "
                                f"{m.group(1)} {m.group(2)} from the row's notes, censored below; IQR dropped"))
        _note(row, remarks)
        out.append(row)
    return out, ledger


_DISEASE = re.compile(r"POI|premature ovarian|ovarian failure|cancer|patient|survivor|menopaus|oophorectom|lymphoma",
                      re.IGNORECASE)


def _hormone(analyte: str) -> str | None:
    from .analytes import analyte_name

    name = analyte_name(analyte.split(" (")[0].strip())
    return name if name in HORMONE_TARGETS else None


def _hormones(rows: Sequence[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    from .analytes import analyte_factor, standard_unit

    out, ledger = [], []
    for ev in rows:
        text = ev["analyte"].lower()
        candidate = ev["species"].strip() == "human" and (
            ev["study_id"] == "AgeFSHinhibin_cross" or "inhib" in text
            or re.match(r"\s*(fsh|e2|estradiol|oestradiol|inhb)\b", text) is not None
        )
        if not candidate:
            continue

        def skip(reason: str) -> None:
            ledger.append(_skip(ev, NATURAL_HISTORY, HORMONES, "skipped", reason))

        analyte = _hormone(ev["analyte"])
        if analyte is None:
            if "immunoreactive" in text or ("inhib" in text and "U/L" in ev["unit"]):
                skip("immunoreactive (total) inhibin in U/L by an old assay, not inhibin-B-specific: it cannot be "
                     "converted to inhibin B pg/mL")
            else:
                skip(f"analyte {ev['analyte']!r} is not a level of FSH, estradiol or inhibin B (a rate, change, ratio "
                     "or change-point)")
            continue
        age = _age(ev["age_years"])
        if age is None:
            skip(f"no usable age (age_years {ev['age_years']!r}): neither a number nor a range a-b")
            continue
        if ev["regimen"].strip().lower() != "none":
            skip(f"not untreated: regimen {ev['regimen']!r}")
            continue
        if _DISEASE.search(ev["arm"]):
            skip(f"not healthy women: arm {ev['arm']!r}")
            continue
        unit = ev["unit"].strip()
        try:
            analyte_factor(analyte, unit, standard_unit(analyte, "human", unit))
        except UnitError:
            skip(f"unit {unit!r} is not a unit of {analyte}")
            continue
        row = _base(ev, NATURAL_HISTORY)
        row.update(age_years=age[0], age_low=age[1], age_high=age[2], analyte=analyte, unit=unit, n=_whole(ev["n"]),
                   spread_type=ev["spread_type"].strip() or "none", spread=ev["spread"].strip(),
                   population=ev["arm"].strip(), condition="healthy, untreated (natural history)")
        remarks = [_age_axis_remark(ev["time_days"]), age[3]]
        if analyte != ev["analyte"].strip():
            remarks.append(f"analyte printed as {ev['analyte']!r}")
        if ev["n"].strip() and not row["n"]:
            remarks.append(f"n left blank: printed as {ev['n']!r}")
        notes = ev["notes"].lower()
        if "population 95% range" in notes or "reference interval" in notes:
            row.update(spread_type="none", spread="")
            remarks.append(f"printed {ev['spread_type']} {ev['spread']} is a population 95% range per the notes, not "
                           "a confidence interval of the mean: not used as a spread")
            ledger.append(_skip(ev, NATURAL_HISTORY, HORMONES, "kept, spread dropped",
                                f"spread {ev['spread_type']} {ev['spread']} is a population 95% range (notes), not a "
                                "CI of the mean"))
        if "geometric mean" in notes:
            remarks.append("statistic as printed 'mean' is a geometric mean (notes): fitted as a mean")
        if age[3]:
            ledger.append(_skip(ev, NATURAL_HISTORY, HORMONES, "kept, age midpoint", age[3]))
        _note(row, remarks)
        out.append(row)
    return out, ledger


# ---------------------------------------------------------------------------------------------
# writing


def write_table(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``rows`` as CSV with ``columns`` (missing fields empty), LF line ends; return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


def _checked(name: str, rows: list[dict[str, str]], ledger: list[dict[str, str]]) -> list[dict[str, str]]:
    """Validate with the dataset reader; a row it rejects moves to the ledger with the problem."""
    import pandas as pd

    from .checks import validate

    problems = validate(pd.DataFrame(rows, columns=list(COLUMNS)))
    bad: dict[int, list[str]] = {}
    for p in problems:
        if p.row is None:
            raise ConversionError(f"{name}: {p}")
        bad.setdefault(p.row - 2, []).append(str(p))
    for k in sorted(bad):
        ev = rows[k]
        ledger.append(dict(
            evidence_file=ev["evidence_file"], evidence_row=ev["evidence_row"], study_id=ev["study_id"], arm=ev["arm"],
            age_years=ev["evidence_age_years"], analyte=ev["evidence_analyte"], value=ev["evidence_value"],
            unit=ev["evidence_unit"], target_dataset=name, decision="skipped",
            reason="rejected by the dataset reader: " + "; ".join(bad[k]),
        ))
    return [r for k, r in enumerate(rows) if k not in bad]


def convert_natural_history(evidence_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the natural-history datasets converted from the evidence sheets.

    Parameters
    ----------
    evidence_dir : str or Path
        Folder holding ``natural_history.csv`` and ``human_follicle_counts_by_age.dat``.
    out_dir : str or Path
        Folder to write to (the package's ``poi_ode/data/bundled/`` for the bundled sets).

    Returns
    -------
    list of Path
        The files written: ``human_follicle_counts.csv``, ``human_amh_by_age.csv``,
        ``human_fsh_inhibin_e2_by_age.csv`` and the ledger ``natural_history_skipped.csv``.
        The output depends only on the evidence files (rerunning gives identical bytes).

    Raises
    ------
    ConversionError
        If a file is missing or the follicle counts of the two evidence files disagree.
    """
    evidence_dir, out_dir = Path(evidence_dir), Path(out_dir)
    rows = _read_evidence(evidence_dir / NATURAL_HISTORY)
    dat = _read_dat(evidence_dir / FOLLICLE_DAT)
    missing = {"study_id", "arm", "species", "time_days", "age_years", "analyte", "statistic", "value", "unit", "n",
               "spread_type", "spread", "censored", "regimen", *PROVENANCE} - set(rows[0] if rows else ())
    if missing:
        raise ConversionError(f"{NATURAL_HISTORY}: columns missing: {', '.join(sorted(missing))}")
    ledger: list[dict[str, str]] = []
    follicles = _checked(FOLLICLES, _follicles(rows, dat), ledger)
    amh, amh_ledger = _amh(rows)
    ledger += amh_ledger
    amh = _checked(AMH, amh, ledger)
    hormones, hormone_ledger = _hormones(rows)
    ledger += hormone_ledger
    hormones = _checked(HORMONES, hormones, ledger)
    ledger.sort(key=lambda r: (r["target_dataset"], int(r["evidence_row"]), r["decision"]))
    return [
        write_table(out_dir / f"{FOLLICLES}.csv", COLUMNS, follicles),
        write_table(out_dir / f"{AMH}.csv", COLUMNS, amh),
        write_table(out_dir / f"{HORMONES}.csv", COLUMNS, hormones),
        write_table(out_dir / SKIPPED_FILE, SKIPPED_COLUMNS, ledger),
    ]


def converter_main(argv: Sequence[str] | None, module: str, convert: Callable[[Path, Path], list[Path]],
                   errors: type[Exception]) -> int:
    """The command line of an evidence converter: ``python -m MODULE [EVIDENCE_DIR] [OUT_DIR]``.

    Converts with ``convert(evidence_dir, out_dir)`` (defaults ``../shared/evidence`` and the bundled folder),
    prints the rows of each file written, and returns the exit status (1 after an ``errors`` exception, 2 on
    bad arguments).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 2 or any(a in ("-h", "--help") for a in args):
        print(f"python -m {module}: convert evidence sheets into bundled datasets")
        print(f"usage: python -m {module} [EVIDENCE_DIR (../shared/evidence)] [OUT_DIR (poi_ode/data/bundled)]")
        return 0 if args and args[0] in ("-h", "--help") else 2
    evidence_dir = Path(args[0]) if args else Path("..") / "shared" / "evidence"
    out_dir = Path(args[1]) if len(args) > 1 else Path(__file__).parent / "bundled"
    try:
        written = convert(evidence_dir, out_dir)
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        with path.open(newline="", encoding="utf-8") as f:
            print(f"{path}: {sum(1 for _ in csv.reader(f)) - 1} rows")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m poi_ode.data.evidence [EVIDENCE_DIR] [OUT_DIR]``; returns the exit status."""
    return converter_main(argv, "poi_ode.data.evidence", convert_natural_history, ConversionError)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
