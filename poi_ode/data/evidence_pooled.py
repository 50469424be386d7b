"""Convert the team's meta-analysis evidence sheets into the bundled pooled-effects table, by code.

The evidence sheets ``../shared/evidence/meta_msc_preclinical.csv`` (MSC versus untreated POI
animals) and ``meta_ev_preclinical.csv`` (MSC-derived extracellular vesicles, "exosome") hold
pooled effect sizes of published meta-analyses with their provenance. This module writes them
in the pooled-effects format (``docs/data.md``, "Pooled effects"; :func:`read_pooled_effects`)
as ``preclinical_pooled_effects.csv``. It never types in, rounds or estimates a number: every
value is copied as a string from the evidence file (an I2 printed ``97.32%`` becomes ``97.32``),
and every row carries ``evidence_file`` and ``evidence_row`` (the record of the CSV file, header
= row 1), the evidence's provenance columns and its original fields in ``evidence_*`` columns.

Rules (each applied by code; row-specific ones are written into ``notes`` after `` || converter: ``):

* ``analyte`` from the printed outcome by the table :data:`OUTCOMES` (the model's analyte names
  where it has one); an outcome not in the table, or one that does not say what was counted
  ("follicle number (folliculogenesis)"), is skipped.
* ``subgroup_kind``/``subgroup_value`` from the printed subgroup by :data:`SUBGROUPS`; the
  printed subgroup stays in ``subgroup``. Dose subgroups are cells per animal (``1e5`` for
  "dose 10^5 cells").
* ``measure``: the first word of the printed effect measure (``SMD``, ``RR``); the sheets do not
  say whether an SMD is Cohen's d or Hedges' g, so it stays ``SMD``.
* ``pooling``: the MSC sheet's ``model`` column; the EV sheet has none: ``random`` where the row's
  notes say "random effects", else ``not stated``.
* ``ci_level``: 0.95 for both sheets (the evidence README describes the MSC sheet's intervals as
  95% CI; the EV sheet's columns are ``CI95_low``/``CI95_high``).
* ``k_studies``, ``n_treated``, ``n_control`` copied when the printed field is a whole number;
  otherwise blank, with the printed text in ``evidence_*`` and a remark (the EV sheet's
  "29 studies overall" is the size of the whole meta-analysis, not of this outcome). The EV
  sheet's ``n_animals`` (both arms together) goes to ``n_total``.
* ``confidence``: the sheets have no confidence column. ``high`` for the table rows that the
  evidence README says a second reader checked against the table page (MSC Table 2, EV Table 3);
  ``medium`` for every abstract row (not re-checked), with the reason in ``notes`` (an abstract
  read on a third-party copy or mirror says so).
* ``flag`` (the row stays in the table but should not be a calibration target; reasons joined
  by ``; ``): a single-study subgroup (k = 1); studies mixing non-MSC cells; an outcome the model
  does not have; numbers identical to those of another analyte's row of the same meta-analysis
  (the EV table's E2-intravenous row repeats the AMH-intravenous row: the later row is flagged as
  the likely copy error, the evidence README's reading).
* A row without numbers, with an interval printed reversed or not containing its estimate, or
  that the reader rejects, is skipped.

Skipped rows, and kept rows with a row-specific decision, are listed with the reason in
``preclinical_pooled_effects_skipped.csv`` (not a dataset).

Run ``python -m poi_ode.data.evidence_pooled [EVIDENCE_DIR] [OUT_DIR]`` from the repository root
(defaults: ``../shared/evidence`` and the package's ``poi_ode/data/bundled/``).
"""
from __future__ import annotations

import csv
import math
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from .evidence import ConversionError, converter_main, write_table
from .pooled import POOLED_COLUMNS, read_pooled_effects

__all__ = ["convert_pooled_effects", "POOLED_DATASET", "POOLED_SKIPPED_FILE", "OUTCOMES", "SUBGROUPS", "main"]

MSC_SHEET = "meta_msc_preclinical.csv"
EV_SHEET = "meta_ev_preclinical.csv"
POOLED_DATASET = "preclinical_pooled_effects"
POOLED_SKIPPED_FILE = f"{POOLED_DATASET}_skipped.csv"
SEP = " || converter: "

#: printed outcome (lower case) -> analyte of the pooled format
OUTCOMES = {
    "e2": "E2", "fsh": "FSH", "amh": "AMH", "lh": "LH",
    "primordial follicles": "primordial", "primary follicles": "primary", "secondary follicles": "secondary",
    "antral follicles": "antral", "mature follicles": "mature_follicles",
    "total follicle count": "total_follicles", "follicle count": "total_follicles",
    "ovarian weight": "ovarian_weight", "estrous cycle length": "estrous_cycle_length",
    "estrous cycle improvement": "estrous_cycle_improvement", "number of pregnancies": "pregnancies",
}
#: printed outcomes that do not say what was measured: skipped, with the reason
AMBIGUOUS_OUTCOMES = {
    "follicle number (folliculogenesis)": "does not say which follicle classes were counted (total, growing?)",
}
#: analytes the model does not have: kept, flagged
NOT_MODELLED = {
    "LH": "LH is not in the model yet",
    "ovarian_weight": "ovarian weight is not a model output",
    "estrous_cycle_length": "the estrous cycle is not a model output",
    "estrous_cycle_improvement": "the estrous cycle is not a model output",
    "pregnancies": "pregnancies are not a model output",
}
#: printed subgroup -> (subgroup_kind, subgroup_value)
SUBGROUPS = {
    "all": ("overall", "all"),
    "hucmsc only, all poi models": ("overall", "all"),
    "all (mixed stem-cell types, not only msc)": ("overall", "all"),
    "rats": ("species", "rat"), "mice": ("species", "mouse"), "mice and rats": ("species", "rodent"),
    "chemotherapy-induced": ("induction", "chemotherapy"),
    "human msc source": ("source", "human"), "animal msc source": ("source", "animal"),
    "ucmscs": ("cell_type", "umbilical_cord"), "bmmscs": ("cell_type", "bone_marrow"),
    "afmscs": ("cell_type", "amniotic_fluid"), "cpmscs": ("cell_type", "chorionic_plate"),
    "menscs": ("cell_type", "menstrual_blood"), "admscs": ("cell_type", "adipose"),
    "pmscs": ("cell_type", "placenta"), "source=h-ucmsc": ("cell_type", "umbilical_cord"),
    "dose 10^5 cells": ("dose", "1e5"), "dose 10^6 cells": ("dose", "1e6"), "dose 10^7 cells": ("dose", "1e7"),
    "route iv": ("route", "intravenous"), "route=intravenous": ("route", "intravenous"),
    "route intraovarian": ("route", "intraovarian"), "route=intra-ovarian": ("route", "intraovarian"),
    "route=intraperitoneal": ("route", "intraperitoneal"),
}
#: the EV sheet has no short id of its meta-analysis: one made from its DOI
EV_META_ID = "JOVARIANRES2024_01513"

EXTRA_COLUMNS = ("n_total", "evidence_outcome", "evidence_subgroup", "evidence_measure", "evidence_pooling",
                 "evidence_k_studies", "evidence_n_treated", "evidence_n_control", "evidence_n_total", "evidence_I2")
COLUMNS = POOLED_COLUMNS + EXTRA_COLUMNS
SKIPPED_COLUMNS = ("evidence_file", "evidence_row", "meta_analysis", "outcome", "subgroup", "estimate", "ci_low",
                   "ci_high", "decision", "reason")

_MSC_FIELDS = ("source_id", "meta_analysis", "outcome", "subgroup", "k_studies", "n_msc", "n_control",
               "effect_measure", "estimate", "ci_low", "ci_high", "model", "I2_percent", "source_location",
               "source_url", "notes")
_EV_FIELDS = ("source", "doi", "outcome", "subgroup", "n_animals", "n_studies", "SMD", "CI95_low", "CI95_high", "I2",
              "source_location", "source_url", "notes")


def _read(path: Path, fields: Sequence[str]) -> list[dict[str, str]]:
    if not path.exists():
        raise ConversionError(f"{path}: evidence file not found")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in fields if c not in (reader.fieldnames or [])]
        if missing:
            raise ConversionError(f"{path.name}: columns missing: {', '.join(missing)}")
        rows = []
        for k, row in enumerate(reader):
            clean = {key: (value if value is not None else "") for key, value in row.items()}
            clean["_row"] = str(k + 2)
            rows.append(clean)
    return rows


def _number(text: str) -> float | None:
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _whole(text: str) -> str:
    value = _number(text)
    return str(text).strip() if value is not None and value >= 1 and value == int(value) else ""


def _confidence(location: str, url: str, notes: str) -> tuple[str, str]:
    """(confidence, reason) by the rule of the module docstring."""
    if location.strip().lower().startswith("table"):
        return "high", ("confidence high: a table row, checked by a second reader against the table page (evidence "
                        "README)")
    host = re.sub(r"^https?://([^/]+).*$", r"\1", url.strip())
    copy = re.search(r"copy|mirror|restated|scite|doaj|biocloudy", f"{location} {notes} {host}", re.IGNORECASE)
    where = f"an abstract restated on a third-party copy ({host}), " if copy else "an abstract, "
    return "medium", f"confidence medium: {where}not re-checked by a second reader (evidence README)"


def _skip(ev: dict[str, str], sheet: str, meta: str, decision: str, reason: str) -> dict[str, str]:
    return dict(evidence_file=sheet, evidence_row=ev["_row"], meta_analysis=meta, outcome=ev["outcome"],
                subgroup=ev["subgroup"], estimate=ev["estimate"], ci_low=ev["ci_low"], ci_high=ev["ci_high"],
                decision=decision, reason=reason)


def _normalise(sheet: str, ev: dict[str, str]) -> dict[str, str]:
    """The fields of either sheet under common names (values untouched)."""
    if sheet == MSC_SHEET:
        return dict(ev, meta=ev["source_id"].strip(), therapy="msc", citation=ev["meta_analysis"],
                    n_treated=ev["n_msc"], n_total="", measure=ev["effect_measure"], pooling=ev["model"],
                    I2=ev["I2_percent"])
    citation = f"{ev['source'].strip()}, doi:{ev['doi'].strip()}" if ev["doi"].strip() else ev["source"]
    pooling = "random" if re.search(r"random[- ]effects?", ev["notes"], re.IGNORECASE) else ""
    return dict(ev, meta=EV_META_ID, therapy="exosome", citation=citation, k_studies=ev["n_studies"],
                n_treated="", n_control="", n_total=ev["n_animals"], measure="SMD", pooling=pooling,
                estimate=ev["SMD"], ci_low=ev["CI95_low"], ci_high=ev["CI95_high"], I2=ev["I2"])


def _convert(sheet: str, rows: Sequence[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    out, ledger = [], []
    for raw in rows:
        ev = _normalise(sheet, raw)
        meta = ev["meta"]

        def skip(reason: str, ev: dict[str, str] = ev, meta: str = meta) -> None:
            ledger.append(_skip(ev, sheet, meta, "skipped", reason))

        outcome = ev["outcome"].strip()
        if outcome.lower() in AMBIGUOUS_OUTCOMES:
            skip(f"outcome {outcome!r} {AMBIGUOUS_OUTCOMES[outcome.lower()]}: no analyte without guessing")
            continue
        analyte = OUTCOMES.get(outcome.lower())
        if analyte is None:
            skip(f"outcome {outcome!r} is not in the converter's table of outcomes (OUTCOMES)")
            continue
        subgroup = SUBGROUPS.get(ev["subgroup"].strip().lower())
        if subgroup is None:
            skip(f"subgroup {ev['subgroup']!r} is not in the converter's table of subgroups (SUBGROUPS)")
            continue
        measure = ev["measure"].strip().split(" ")[0] if ev["measure"].strip() else ""
        if measure not in ("SMD", "RR"):
            skip(f"effect measure {ev['measure']!r} is not an SMD or RR")
            continue
        numbers = [_number(ev[c]) for c in ("estimate", "ci_low", "ci_high")]
        if any(x is None for x in numbers):
            skip(f"estimate and interval ({ev['estimate']!r}, {ev['ci_low']!r}, {ev['ci_high']!r}) are not all "
                 "numbers")
            continue
        est, lo, hi = (float(x) for x in numbers if x is not None)
        if lo > hi:
            skip(f"flag: interval printed reversed ({ev['ci_low']} > {ev['ci_high']}); not swapped")
            continue
        if not lo <= est <= hi:
            skip(f"flag: estimate {ev['estimate']} is outside its printed interval [{ev['ci_low']}, {ev['ci_high']}]")
            continue
        pooling = ev["pooling"].strip() or "not stated"
        confidence, why = _confidence(ev["source_location"], ev["source_url"], ev["notes"])
        remarks, flags, decisions = [why], [], []
        row: dict[str, Any] = {c: "" for c in COLUMNS}
        row.update(
            therapy=ev["therapy"], meta_analysis=meta, citation=ev["citation"], analyte=analyte,
            subgroup=ev["subgroup"], subgroup_kind=subgroup[0], subgroup_value=subgroup[1], measure=measure,
            estimate=ev["estimate"].strip(), ci_low=ev["ci_low"].strip(), ci_high=ev["ci_high"].strip(),
            ci_level="0.95", k_studies=_whole(ev["k_studies"]), n_treated=_whole(ev["n_treated"]),
            n_control=_whole(ev["n_control"]), n_total=_whole(ev["n_total"]), pooling=pooling,
            confidence=confidence, source_location=ev["source_location"], source_url=ev["source_url"],
            notes=ev["notes"], evidence_file=sheet, evidence_row=ev["_row"], evidence_outcome=ev["outcome"],
            evidence_subgroup=ev["subgroup"], evidence_measure=ev["measure"], evidence_pooling=ev["pooling"],
            evidence_k_studies=ev["k_studies"], evidence_n_treated=ev["n_treated"],
            evidence_n_control=ev["n_control"], evidence_n_total=ev["n_total"], evidence_I2=ev["I2"],
        )
        i2 = ev["I2"].strip()
        i2_number = i2[:-1].strip() if i2.endswith("%") else i2
        if i2 and _number(i2_number) is None:
            remarks.append(f"I2 printed as {i2!r} is not a number: left blank")
        else:
            row["I2_percent"] = i2_number
        for c, printed in (("k_studies", ev["k_studies"]), ("n_treated", ev["n_treated"]),
                           ("n_control", ev["n_control"]), ("n_total", ev["n_total"])):
            if printed.strip() and not row[c]:
                remarks.append(f"{c} left blank: printed as {printed!r}, not a whole number of this row's "
                               + ("studies (the size of the whole meta-analysis?)" if c == "k_studies" else "animals"))
                decisions.append(f"{c} blank (printed {printed!r})")
        if outcome.lower() == "follicle count":
            remarks.append("outcome printed as 'follicle count', read as the total follicle count")
        if sheet == EV_SHEET and not ev["pooling"].strip():
            remarks.append(f"pooling {pooling!r}: the EV sheet has no model column"
                           + (" (the row's notes say random effects)" if pooling == "random" else ""))
        if subgroup == ("overall", "all") and ev["subgroup"].strip().lower() != "all":
            remarks.append(f"subgroup printed as {ev['subgroup']!r}: the meta-analysis' overall result")
        if row["k_studies"] == "1":
            flags.append("single-study subgroup (k = 1): one study's effect, not a pooled one")
        if "not only msc" in ev["subgroup"].lower():
            flags.append("mixed non-MSC cells: the studies pooled are not all MSC studies (subgroup and notes)")
        if analyte in NOT_MODELLED:
            flags.append(f"outcome not modelled: {NOT_MODELLED[analyte]}")
        row["flag"] = "; ".join(flags)
        row["_remarks"] = remarks
        row["_decisions"] = decisions + (["flagged: " + row["flag"]] if flags else [])
        out.append(row)
    _flag_repeats(out)
    for row in out:
        remarks, decisions = row.pop("_remarks"), row.pop("_decisions")
        row["notes"] += SEP + "; ".join(remarks)
        if decisions:
            ledger.append(dict(evidence_file=sheet, evidence_row=row["evidence_row"],
                               meta_analysis=row["meta_analysis"], outcome=row["evidence_outcome"],
                               subgroup=row["subgroup"], estimate=row["estimate"], ci_low=row["ci_low"],
                               ci_high=row["ci_high"], decision="kept",
                               reason="; ".join(decisions)))
    return out, ledger


def _flag_repeats(rows: list[dict[str, Any]]) -> None:
    """Flag a row whose estimate and interval repeat, string for string, those of an earlier row of the same
    meta-analysis for another analyte (a copy error in the source table; the later row is taken as the copy)."""
    first: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["meta_analysis"], row["estimate"], row["ci_low"], row["ci_high"])
        earlier = first.get(key)
        if earlier is None:
            first[key] = row
            continue
        if earlier["analyte"] == row["analyte"]:
            continue  # fixed and random of a one-study subgroup are the same study's effect
        reason = (f"repeats the estimate and interval of {earlier['analyte']} ({earlier['subgroup']}, evidence row "
                  f"{earlier['evidence_row']}) exactly: likely a copy error in the source table")
        row["flag"] = "; ".join(f for f in (row["flag"], reason) if f)
        row["_decisions"].append("flagged: " + reason)
        earlier["_remarks"].append(f"its numbers are repeated by the {row['analyte']} row (evidence row "
                                   f"{row['evidence_row']}), which is flagged; this row is kept as printed")


def _effect_id(row: dict[str, str]) -> str:
    """``META:ANALYTE:KIND=VALUE:POOLING``, e.g. ``FENDO2023_1165574:E2:route=intravenous:random``."""
    parts = (row["meta_analysis"], row["analyte"], row["subgroup_kind"], row["subgroup_value"], row["pooling"])
    meta, analyte, kind, value, pooling = (re.sub(r"[^A-Za-z0-9._-]+", "_", p.strip()) for p in parts)
    return f"{meta}:{analyte}:{kind}={value}:{pooling}"


def convert_pooled_effects(evidence_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the pooled-effects table converted from the two meta-analysis evidence sheets.

    Parameters
    ----------
    evidence_dir : str or Path
        Folder holding ``meta_msc_preclinical.csv`` and ``meta_ev_preclinical.csv``.
    out_dir : str or Path
        Folder to write to (the package's ``poi_ode/data/bundled/`` for the bundled table).

    Returns
    -------
    list of Path
        ``preclinical_pooled_effects.csv`` and the ledger ``preclinical_pooled_effects_skipped.csv``.
        The output depends only on the evidence files (rerunning gives identical bytes).

    Raises
    ------
    ConversionError
        If a sheet is missing or lacks a column, two rows get the same ``effect_id``, or the
        pooled-effects reader rejects the table as a whole.
    """
    import pandas as pd

    from .pooled import PooledEffectsError

    evidence_dir, out_dir = Path(evidence_dir), Path(out_dir)
    rows, ledger = [], []
    for sheet, fields in ((MSC_SHEET, _MSC_FIELDS), (EV_SHEET, _EV_FIELDS)):
        kept, skipped = _convert(sheet, _read(evidence_dir / sheet, fields))
        rows += kept
        ledger += skipped
    ids: dict[str, dict[str, str]] = {}
    for row in rows:
        row["effect_id"] = _effect_id(row)
        if row["effect_id"] in ids:
            other = ids[row["effect_id"]]
            raise ConversionError(f"effect_id {row['effect_id']!r} of {row['evidence_file']} row {row['evidence_row']} "
                                  f"repeats {other['evidence_file']} row {other['evidence_row']}")
        ids[row["effect_id"]] = row
    try:
        read_pooled_effects(pd.DataFrame(rows, columns=list(COLUMNS)), POOLED_DATASET)
    except PooledEffectsError as exc:
        bad: dict[int, list[str]] = {}
        for p in exc.problems:
            if p.row is None:
                raise ConversionError(f"{POOLED_DATASET}: {p}") from None
            bad.setdefault(p.row - 2, []).append(str(p))
        for k in sorted(bad):
            r = rows[k]
            ledger.append(dict(evidence_file=r["evidence_file"], evidence_row=r["evidence_row"],
                               meta_analysis=r["meta_analysis"], outcome=r["evidence_outcome"], subgroup=r["subgroup"],
                               estimate=r["estimate"], ci_low=r["ci_low"], ci_high=r["ci_high"], decision="skipped",
                               reason="rejected by the pooled-effects reader: " + "; ".join(bad[k])))
        rows = [r for k, r in enumerate(rows) if k not in bad]
    ledger.sort(key=lambda r: (r["evidence_file"], int(r["evidence_row"]), r["decision"]))
    return [
        write_table(out_dir / f"{POOLED_DATASET}.csv", COLUMNS, rows),
        write_table(out_dir / POOLED_SKIPPED_FILE, SKIPPED_COLUMNS, ledger),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m poi_ode.data.evidence_pooled [EVIDENCE_DIR] [OUT_DIR]``; returns the exit status."""
    return converter_main(argv, "poi_ode.data.evidence_pooled", convert_pooled_effects, ConversionError)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
