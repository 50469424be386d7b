"""Published natural-history targets, selected by code from the team's evidence sheet.

The validation page never types a published number. :func:`build_targets` reads
``natural_history.csv`` of the evidence folder (``../shared/evidence/`` beside the repository),
selects rows by the keys of :data:`TARGET_SPECS` (study, analyte, age as printed, and where two
rows share those a distinguishing text of ``arm`` or ``notes``) and writes the bundled
``targets.csv`` with every provenance column and the row's line number in the sheet. A test
checks that rebuilding from the sheet reproduces the bundled file byte for byte.

Rules of the conversion (nothing is rounded or "fixed"):

- ``value_printed`` is the value as printed; ``value`` is its number, or empty when the value
  is a printed range ("13-14") or text ("not detectable");
- ``low``/``high``: the printed spread when it is a range, an IQR or a 95% interval; mean ± SD
  when the spread is an SD; the printed range itself when the value is a range; otherwise empty
  (an SEM gives no bounds). ``bounds_from`` says which rule applied;
- ``resolution``: half a unit of the last printed digit of value and bounds (a median printed
  0.00 lies below 0.005), used by checks against printed bounds;
- ``evidence_rows``: line numbers in the sheet (the header is line 1), ``;``-separated when a
  target aggregates several rows (then ``value`` is their median, said in ``bounds_from``).
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["TARGET_SPECS", "TARGET_COLUMNS", "TargetSpec", "build_targets", "load_targets", "targets_path",
           "EVIDENCE_FILE"]

EVIDENCE_FILE = "natural_history.csv"
"""The evidence sheet the targets come from (in the evidence folder)."""

TARGET_COLUMNS = (
    "target", "study_id", "arm", "species", "age_years", "analyte", "statistic", "value_printed", "value", "low",
    "high", "resolution", "bounds_from", "unit", "n", "spread_type", "spread", "citation", "source_location",
    "source_url", "confidence", "evidence_file", "evidence_rows",
)
"""Columns of ``targets.csv``, in order."""


@dataclass(frozen=True)
class TargetSpec:
    """How one target is selected from the evidence sheet.

    Attributes
    ----------
    name : str
        The target's name, used by the checks.
    study_id, analyte : str
        Exact values of those columns.
    age : str or None
        Exact ``age_years`` as printed ("30", "20-25"); None matches any.
    arm_contains, notes_contains : str or None
        A text the ``arm`` or ``notes`` column must contain, where study, analyte and age do not
        single out a row.
    aggregate : bool
        Several rows allowed: the target is their median (for individual values).
    """

    name: str
    study_id: str
    analyte: str
    age: str | None = None
    arm_contains: str | None = None
    notes_contains: str | None = None
    aggregate: bool = False


def _s(name, study, analyte, age=None, arm=None, notes=None, aggregate=False) -> TargetSpec:
    return TargetSpec(name, study, analyte, age, arm, notes, aggregate)


_DEKAT = "deKat2016_Doetinchem"
_SWAN = "SWAN_Randolph2011"
_BENAYOUN = "Benayoun_AC_mouse_aging"

TARGET_SPECS: tuple[TargetSpec, ...] = (
    # human reserve
    _s("ngf_pct_peak_30", "WallaceKelsey2010_NGF", "primordial (NGF, % of peak)", "30"),
    _s("ngf_pct_peak_40", "WallaceKelsey2010_NGF", "primordial (NGF, % of peak)", "40"),
    _s("ngf_range_35", "WallaceKelsey2004_FaddyGosden", "primordial 95% range at age 35 (model)", "35"),
    _s("ngf_at_menopause", "Faddy_via_bionumbers", "primordial (NGF)", "50-51"),
    _s("age_natural_menopause", "WallaceKelsey2004_FaddyGosden", "age at natural menopause", "50.4"),
    # the published Faddy-Gosden reserve curve (values of the model solution printed in the sources)
    _s("faddy_gosden_birth", "WallaceKelsey2004_FaddyGosden", "primordial (Faddy-Gosden model)", "0"),
    _s("faddy_gosden_break", "Faddy1992_via_Jirge", "primordial (NGF, both ovaries)", "37.5"),
    _s("faddy_gosden_menopause", "WallaceKelsey2004_FaddyGosden", "primordial at menopause (Faddy-Gosden)", "50.4"),
    # human AMH
    _s("amh_peak_age_kelsey", "Kelsey2011_AMHmodel", "AMH peak age", "24.5"),
    _s("amh_plateau_start_liefong", "LieFong2012_AMHnomogram", "AMH peak age", "15.8"),
    *(_s(f"amh_age_{a}", _DEKAT, "AMH", str(a)) for a in (20, 30, 40, 50, 60)),
    *(_s(f"amh_ttm_{t}", _DEKAT, "AMH", None, arm=f"time to menopause = {t} y") for t in (20, 15, 10, 5, 0, -5)),
    _s("amh_amenorrhoea_chai", "Chai2014_picoAMH", "AMH", None, arm="amenorrhoea"),
    _s("amh_menses_chai", "Chai2014_picoAMH", "AMH", None, arm="ongoing menses"),
    # human FSH and E2
    _s("fsh_20_25_jain", "Jain2003_day3", "FSH", "20-25"),
    _s("fsh_40_45_jain", "Jain2003_day3", "FSH", "40-45"),
    _s("e2_day3_20_25_jain", "Jain2003_day3", "E2", "20-25"),
    _s("e2_day3_40_45_jain", "Jain2003_day3", "E2", "40-45"),
    _s("fsh_20_35_erasmus", "ErasmusFSH_young", "FSH (cycle day 3)", "20-35"),
    _s("fsh_postmenopausal_sharief", "Sharief2018_POF", "FSH", None, arm="postmenopausal"),
    _s("swan_fsh_onset", _SWAN, "FSH rise onset (change-point)"),
    _s("swan_fsh_acceleration", _SWAN, "FSH rise acceleration (change-point)"),
    _s("swan_fsh_deceleration", _SWAN, "FSH rise deceleration (change-point)"),
    _s("swan_fsh_plateau", _SWAN, "FSH stable (plateau reached) (change-point)"),
    _s("swan_e2_onset", _SWAN, "E2 decline onset (change-point)"),
    _s("swan_e2_nadir", _SWAN, "E2 stable (nadir reached) (change-point)"),
    _s("e2_fmp_minus2_sowers", "Sowers2008_E2_FMP", "E2 (fitted population mean)", None, notes="2 y before FMP"),
    _s("e2_fmp_plus2_sowers", "Sowers2008_E2_FMP", "E2 (fitted population mean)", None, notes="2 y after FMP"),
    _s("e2_natural_menopause_kaur", "Kaur_IJRCOG_E2", "E2", None, arm="natural menopause"),
    _s("e2_surgical_menopause_kaur", "Kaur_IJRCOG_E2", "E2", None, arm="surgical menopause"),
    # mouse
    _s("mouse_exhaustion_age", "Gosden1983_B6_aging", "age at near-exhaustion of primordial+growing follicles"),
    _s("mouse_primary_peak_age", "BristolGould2006_CD1", "age at maximum primary follicle number"),
    _s("mouse_serum_fsh_intact", "Endo1964_mouse_OVX_FSH", "FSH (serum, bioassay)", None, notes="intact adult"),
    _s("mouse_ctx_ed50_shiromizu", "Shiromizu1984_CPA_ED50", "primordial oocyte destruction ED50", None,
       arm="C57BL/6N"),
    _s("mouse_ctx_ed50_plowchalk", "Plowchalk1992_CPA_B6", "primordial destruction ED50"),
    # chemotherapy (issue 11): calibration and checks of the insult by agent and stage
    _s("mouse_ctx_antral_200_plowchalk", "Plowchalk1992_CPA_B6", "antral", None, arm="CPA 200 mg/kg"),
    _s("mouse_ctx_antral_500_plowchalk", "Plowchalk1992_CPA_B6", "antral", None, arm="CPA 500 mg/kg"),
    _s("rat_cisplatin_primordial_control", "Terek2004_rat_cisplatin", "primordial", None, arm="saline control"),
    _s("rat_cisplatin_primordial_5", "Terek2004_rat_cisplatin", "primordial", None, arm="cisplatin 5 mg/kg"),
    _s("rat_ctx_ed50_shiromizu", "Shiromizu1984_CPA_ED50", "primordial oocyte destruction ED50", None,
       arm="Sprague-Dawley"),
    _s("mouse_cybu_total_follicles", "Korea_CyBu_C57", "total_follicles change vs control", None,
       arm="single Cy 120 + Bu 30"),
    _s("koyama_cy_amenorrhoea_30s", "Koyama1977_dailyCY", "cumulative cyclophosphamide dose at onset of amenorrhea",
       "30-39"),
    _s("koyama_cy_amenorrhoea_40s", "Koyama1977_dailyCY", "cumulative cyclophosphamide dose at onset of amenorrhea",
       "40-49"),
    _s("berliere_amenorrhoea_end", "Berliere2008_FEC", "chemotherapy-induced amenorrhea at end of chemotherapy",
       "43.5"),
    _s("berliere_recovered_1y", "Berliere2008_FEC", "menses recovered within 1 year after end of chemotherapy", "43.5"),
    _s("lymphoma_amh_day0", "ASH2010_lymphoma_AMH", "AMH", None, arm="baseline"),
    _s("lymphoma_amh_day14", "ASH2010_lymphoma_AMH", "AMH", None, arm="2 weeks after"),
    _s("rathl_abvd_young_pct", "RATHL_Anderson2018_HL", "AMH (% of baseline)", None, arm="age <35"),
    _s("rathl_abvd_old_pct", "RATHL_Anderson2018_HL", "AMH (% of baseline)", None, arm="age >=35"),
    _s("rathl_abvd_1y", "RATHL_Anderson2018_HL", "AMH", None, arm="ABVD or AVD"),
    _s("rathl_beacopp_1y", "RATHL_Anderson2018_HL", "AMH", None, arm="BEACOPP"),
    _s("rosendahl_amh_pre", "Rosendahl2010_dynamics", "AMH", None, arm="pre-chemotherapy"),
    _s("rosendahl_amh_1", "Rosendahl2010_dynamics", "AMH", None, arm="after 1st"),
    _s("rosendahl_amh_2", "Rosendahl2010_dynamics", "AMH", None, arm="after 2nd"),
    _s("mouse_amh_young", _BENAYOUN, "AMH", "0.33", aggregate=True),
    _s("mouse_amh_old", _BENAYOUN, "AMH", "1.67", aggregate=True),
    _s("mouse_fsh_young", _BENAYOUN, "FSH", "0.33", aggregate=True),
    _s("mouse_fsh_old", _BENAYOUN, "FSH", "1.67", aggregate=True),
)
"""Every published number the checks use, by its selection key."""

_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d*)?)\s*-\s*(-?\d+(?:\.\d*)?)\s*$")


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _half_unit(*printed: str) -> float | None:
    """Half a unit of the last printed digit (the coarsest of the numbers given)."""
    steps = []
    for text in printed:
        for token in re.findall(r"-?\d+(?:\.\d+)?", text or ""):
            decimals = len(token.split(".")[1]) if "." in token else 0
            steps.append(0.5 * 10.0 ** (-decimals))
    return max(steps) if steps else None


def _fmt(x: float | None) -> str:
    return "" if x is None else repr(float(x))


def _read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of the sheet as printed, each with its line number in the file (``_line``)."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = []
        start = 2
        for row in reader:
            row = dict(row)
            row["_line"] = str(start)
            rows.append(row)
            start = reader.line_num + 1
        return rows


def _select(rows: list[dict[str, str]], spec: TargetSpec) -> list[dict[str, str]]:
    hits = [r for r in rows if r["study_id"] == spec.study_id and r["analyte"] == spec.analyte
            and (spec.age is None or r["age_years"] == spec.age)
            and (spec.arm_contains is None or spec.arm_contains in r["arm"])
            and (spec.notes_contains is None or spec.notes_contains in r["notes"])]
    if not hits:
        raise ValueError(f"target {spec.name!r}: no row of the evidence sheet matches {spec}")
    if len(hits) > 1 and not spec.aggregate:
        raise ValueError(f"target {spec.name!r}: {len(hits)} rows match (lines "
                         f"{', '.join(r['_line'] for r in hits)}); make the key more specific")
    return hits


def _target_row(spec: TargetSpec, hits: list[dict[str, str]]) -> dict[str, str]:
    first = hits[0]
    for col in ("unit", "citation", "source_location", "source_url", "confidence", "statistic"):
        if len({r[col] for r in hits}) != 1:
            raise ValueError(f"target {spec.name!r}: the rows it aggregates differ in {col!r}")
    low = high = None
    value: float | None
    if spec.aggregate:
        values = [_number(r["value"]) for r in hits]
        if any(v is None for v in values):
            raise ValueError(f"target {spec.name!r}: a row to aggregate has no numeric value")
        value = float(np.median([v for v in values if v is not None]))  # none is None (checked above)
        printed = ";".join(r["value"] for r in hits)
        bounds_from = f"median of {len(hits)} rows"
    else:
        printed = first["value"]
        value = _number(printed)
        bounds_from = ""
        spread, kind = first["spread"].strip(), first["spread_type"].strip()
        match = _RANGE.match(spread)
        if kind in ("IQR", "range", "CI95") and match:
            low, high = float(match.group(1)), float(match.group(2))
            bounds_from = f"{kind} as printed"
        elif kind == "SD" and value is not None and _number(spread) is not None:
            sd = float(spread)
            low, high = value - sd, value + sd
            bounds_from = "mean ± SD"
        elif value is None and (m := _RANGE.match(printed)):
            low, high = float(m.group(1)), float(m.group(2))
            bounds_from = "printed range"
    resolution = (None if spec.aggregate
                  else _half_unit(printed, first["spread"] if bounds_from.endswith("as printed") else ""))
    return {
        "target": spec.name,
        "study_id": first["study_id"],
        "arm": first["arm"] if len({r["arm"] for r in hits}) == 1 else "; ".join(sorted({r["arm"] for r in hits})),
        "species": first["species"],
        "age_years": first["age_years"],
        "analyte": first["analyte"],
        "statistic": first["statistic"],
        "value_printed": printed,
        "value": _fmt(value),
        "low": _fmt(low),
        "high": _fmt(high),
        "resolution": _fmt(resolution),
        "bounds_from": bounds_from,
        "unit": first["unit"],
        "n": first["n"],
        "spread_type": first["spread_type"],
        "spread": first["spread"],
        "citation": first["citation"],
        "source_location": first["source_location"],
        "source_url": first["source_url"],
        "confidence": first["confidence"],
        "evidence_file": EVIDENCE_FILE,
        "evidence_rows": ";".join(r["_line"] for r in hits),
    }


def build_targets(evidence_dir: str | Path, out_path: str | Path | None = None) -> str:
    """Select the targets from the evidence sheet and write ``targets.csv``.

    Parameters
    ----------
    evidence_dir : str or Path
        The evidence folder holding ``natural_history.csv`` (``../shared/evidence`` beside the
        repository).
    out_path : str or Path, optional
        Where to write (default: the bundled ``poi_ode/validation/targets.csv``).

    Returns
    -------
    str
        The CSV text written (UTF-8, ``\\n`` line ends, columns :data:`TARGET_COLUMNS`).

    Raises
    ------
    ValueError
        If a key matches no row, or several rows where one is expected.
    """
    rows = _read_rows(Path(evidence_dir) / EVIDENCE_FILE)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TARGET_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for spec in TARGET_SPECS:
        writer.writerow(_target_row(spec, _select(rows, spec)))
    text = buffer.getvalue()
    out = Path(out_path) if out_path is not None else targets_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8", newline="")
    return text


def targets_path() -> Path:
    """Path of the bundled ``targets.csv``."""
    return Path(__file__).with_name("targets.csv")


def load_targets(path: str | Path | None = None) -> dict[str, dict]:
    """The bundled targets by name: printed fields as text, ``value``/``low``/``high``/``resolution``
    as floats (NaN where empty)."""
    with Path(path or targets_path()).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for row in rows:
        for col in ("value", "low", "high", "resolution"):
            row[col] = float(row[col]) if row[col] else math.nan
        out[row["target"]] = row
    return out
