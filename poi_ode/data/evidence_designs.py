"""Convert the team's preclinical design sheets into the bundled design table, by code.

Reads ``designs_msc_preclinical.csv`` and ``designs_ev_preclinical.csv`` of the evidence folder
(``../shared/evidence/``) and writes ``preclinical_designs.csv`` (one row per design, both sheets,
column ``therapy`` ``msc`` or ``exosome``; columns and conventions: :mod:`poi_ode.mbma.designs`) and
the ledger ``preclinical_designs_skipped.csv`` (rows left out, and rows kept with a row-specific
decision, each with the reason). The design table is not an observation dataset:
:func:`poi_ode.data.list_datasets` skips ``*_designs.csv`` as it skips ``*_skipped.csv``.

Rules (each applied by code; the row's ``notes`` get the remark after `` || converter: ``):

* Every parsed field keeps its printed original in an ``*_as_printed`` column (copied verbatim) and the
  provenance columns are copied verbatim, plus ``evidence_file`` and ``evidence_row`` (header = row 1).
  A sheet row with more fields than the header (an unquoted comma in ``notes``) has the extra fields
  joined back into ``notes`` with the comma.
* Only what the text states is parsed. Two numbers where one is expected (two arms, a footnoted pair), a
  concentration without volume, a dose per ovary without "both ovaries", a chemotherapy dose whose
  repetition is not printed ("given two times", "for 1 week"): the field is left blank and listed in
  ``flagged_fields`` with the reason; nothing is averaged or guessed. A dose "per ovary" with "both
  ovaries" stated is doubled to a dose per animal (said in ``notes``).
* A single printed chemotherapy dose with no repetition word is one administration on day 0.
* Days count from the first chemotherapy dose. A printed delay ("1 week after chemotherapy") counts from
  the last chemotherapy dose; a printed follow-up or sampling time ("follow-up 28 days", "4 weeks after
  MSC") counts from the first therapy dose.
* Fields not printed are filled by the documented defaults of :data:`poi_ode.mbma.designs.DEFAULTS`
  (values counted from the sheets by :func:`poi_ode.mbma.designs.compute_defaults`; the value and the
  counts go into ``notes``, the field into ``defaulted_fields``); where no default applies the field is
  blank and in ``missing_fields``. The therapy dose and the species are never defaulted.
* ``in_scope``: the MSC sheet's printed ``in_scope`` (``partly`` and ``unclear`` count as ``no``). The EV
  sheet has no such column; a row is out of scope if its insult is not printed as chemotherapy (or is an
  in-vitro or VCD model), or its product is conditioned medium, a secretome or vesicles printed as not
  from MSCs.
* Repeated study ids: the same study read from two sources. The later row is kept with ``design_id``
  ``<study_id>_row<N>`` and ``duplicate_of`` naming the first; a row the sheet says "complements" another
  is a duplicate of it, and so is a review-table row whose notes say it "matches the design of" a study
  of the same sheet (agent and cell type named in the sentence); a row another row "supersedes" is
  skipped. Duplicates are left out of the counts of the defaults.

Run ``python -m poi_ode.data.evidence_designs [EVIDENCE_DIR] [OUT_DIR]`` from the repository root
(defaults: ``../shared/evidence`` and the package's ``poi_ode/data/bundled/``).
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from ..errors import PoiOdeError
from ..mbma.designs import ANALYTES, DESIGN_COLUMNS, THERAPY_UNITS, compute_defaults, format_schedule, parse_schedule
from .evidence import converter_main, write_table

__all__ = ["convert_designs", "DesignConversionError", "DESIGNS_NAME", "SKIPPED_FILE", "MSC_SHEET", "EV_SHEET",
           "AS_PRINTED", "SKIPPED_COLUMNS", "main"]

MSC_SHEET = "designs_msc_preclinical.csv"
EV_SHEET = "designs_ev_preclinical.csv"
DESIGNS_NAME = "preclinical_designs"
SKIPPED_FILE = "preclinical_designs_skipped.csv"
SEP = " || converter: "

#: output ``*_as_printed`` (and verbatim) column -> the sheet column it copies, per sheet (None: the sheet has none)
AS_PRINTED: dict[str, dict[str, str | None]] = {
    MSC_SHEET: {
        "in_scope_as_printed": "in_scope", "species_strain_as_printed": "species_strain",
        "n_per_group_as_printed": "n_per_group", "chemo_as_printed": "chemo_regimen_as_printed",
        "cell_type": "cell_type", "cell_dose_as_printed": "cell_dose_as_printed", "route_as_printed": "route",
        "timing_as_printed": "msc_timing_as_printed", "sampling_as_printed": "sampling_as_printed",
        "outcomes_as_printed": "outcomes_measured", "numbers_visible": "numbers_visible",
        "numeric_outcomes_found": None, "source_location": "source_location", "source_of_design_info": None,
        "doi_or_pmcid": None, "source_url": "source_url",
    },
    EV_SHEET: {
        "in_scope_as_printed": None, "species_strain_as_printed": "species_strain", "n_per_group_as_printed": None,
        "chemo_as_printed": "chemo_model", "cell_type": "ev_source", "cell_dose_as_printed": "ev_dose",
        "route_as_printed": "ev_route", "timing_as_printed": "ev_timing", "sampling_as_printed": "ev_timing",
        "outcomes_as_printed": "outcomes_reported", "numbers_visible": None,
        "numeric_outcomes_found": "numeric_outcomes_found", "source_location": None,
        "source_of_design_info": "source_of_design_info", "doi_or_pmcid": "doi_or_pmcid", "source_url": "source_url",
    },
}
SKIPPED_COLUMNS = ("evidence_file", "evidence_row", "study_id", "design_id", "decision", "reason")
_THERAPY = {MSC_SHEET: "msc", EV_SHEET: "exosome"}


class DesignConversionError(PoiOdeError, ValueError):
    """The design sheets are not what the converter expects (it stops rather than guess)."""


# ---------------------------------------------------------------------------------------------
# reading


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise DesignConversionError(f"{path}: evidence file not found")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        needed = {c for c in AS_PRINTED[path.name].values() if c} | {"study_id", "notes"}
        missing = needed - set(reader.fieldnames or ())
        if missing:
            raise DesignConversionError(f"{path.name}: columns missing: {', '.join(sorted(missing))}")
        rows = []
        for k, raw in enumerate(reader, start=2):
            row = {key: value or "" for key, value in raw.items() if key is not None}
            row["_row"] = str(k)
            row["_extra"] = ""
            if raw.get(None):
                extra = raw[None]
                row["notes"] = ",".join([row["notes"], *extra])
                row["_extra"] = (f"the sheet row has {len(extra)} field(s) beyond the header (an unquoted comma in "
                                 "notes): joined back into notes with the comma")
            rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# parsing one printed field each

_NOT_STATED = re.compile(r"^\s*(not (in table|visible|seen|stated|reported)|see review)", re.IGNORECASE)
_NUM = r"\d+(?:\.\d+)?"


def _num(x: float) -> str:
    return str(int(x)) if float(x) == int(x) else format(float(x), ".15g")


def _species(text: str) -> tuple[str, str]:
    t = text
    species = ("mouse" if re.search(r"\b(mouse|mice)\b", t, re.I) else
               "rat" if re.search(r"\brats?\b", t, re.I) else
               "rabbit" if re.search(r"\brabbits?\b", t, re.I) else "")
    strains = (("C57BL/6", r"C57BL/6"), ("BALB/c", r"BALB/c"), ("ICR", r"\bICR\b"),
               ("Wistar-Imamichi", r"Wistar-Imamichi"), ("Wistar", r"Wistar"),
               ("Sprague-Dawley", r"Sprague-Dawley|\bSD\b"))
    strain = next((name for name, pattern in strains if re.search(pattern, t)), "")
    return species, strain


def _n(text: str, species_text: str) -> tuple[str, str, str]:
    """(n_treated, n_control, remark)."""
    m = re.match(r"\s*(\d+)/(\d+) \(MSC/control\)", text)
    if m:
        return m.group(1), m.group(2), ""
    m = re.search(r"\b(\d+) per group\b(.*)", text)
    if m and "implied" not in m.group(2):
        return m.group(1), m.group(1), ""
    m = re.search(r"\bn=(\d+)/group", species_text)
    if m:
        return m.group(1), m.group(1), f"n per group read from species_strain {species_text!r}"
    if text.strip() and not _NOT_STATED.match(text):
        return "", "", f"n per arm not stated as such (printed {text!r})"
    return "", "", ""


_MODELLED = (("cyclophosphamide", r"cyclophosphamide|\bCTX\b|\bCTx\b"), ("cisplatin", r"cisplatin"),
             ("busulfan", r"busulfan"), ("doxorubicin", r"doxorubicin"))
_OTHER = (("paclitaxel", r"paclitaxel"), ("tripterygium glycosides", r"tripterygium"), ("VCD", r"\bVCD\b"),
          ("radiation", r"radiation"), ("autoimmune", r"autoimmun"), ("unnamed chemical agent", r"chemical agent"))


def _chemo(text: str) -> dict:
    """Agents, printed routes and the printed schedule items (route may be '') of a chemotherapy text."""
    named = [a for a, pattern in _MODELLED if re.search(pattern, text)]
    other = [a for a, pattern in _OTHER if re.search(pattern, text, re.I)]
    routes = []
    if re.search(r"\bIP\b|\bip\b|intraperitoneal", text):
        routes.append("intraperitoneal")
    if re.search(r"\bIV\b|\biv\b|intravenous", text):
        routes.append("intravenous")
    if re.search(r"\boral", text, re.I):
        routes.append("oral")
    out: dict[str, Any] = dict(named=named, routes=routes, items=None, flag="", remark="")
    if named:
        out["agent"] = "+".join(sorted(named))
    elif other:
        out["agent"] = "+".join(other)
    elif re.search(r"chemo", text, re.I):
        out["agent"] = ""  # chemotherapy, agent not named: default
        out["unnamed"] = True
    else:
        out["agent"] = ""
    if not named:
        return out
    amounts = re.findall(rf"({_NUM})\s*mg/kg", text)
    route = routes[0] if len(routes) == 1 else ""
    if len(routes) > 1:
        out["flag"] = f"more than one chemotherapy route printed ({', '.join(routes)})"
        return out
    if re.search(r"schedules", text):
        out["flag"] = "more than one chemotherapy schedule printed"
        return out
    if not amounts:
        return out
    if len(named) > 1:
        out["flag"] = "amounts printed for a combination without saying which agent each belongs to"
        return out
    agent = named[0]
    m = re.search(rf"({_NUM}) mg/kg.*?then ({_NUM}) mg/kg(?:/day)?(.*)$", text)
    if m:
        rest = m.group(3)
        run = re.search(r"(?:daily )?(?:for|x)\s*(\d+)\s*(?:days|d)\b", rest)
        if run:
            out["items"] = [(agent, m.group(1), "mg/kg", route, [0.0]),
                            (agent, m.group(2), "mg/kg", route, [float(d) for d in range(1, int(run.group(1)) + 1)])]
            out["remark"] = (f"schedule read as {m.group(1)} mg/kg on day 0 then {m.group(2)} mg/kg once daily on "
                             f"days 1..{run.group(1)}")
        elif re.search(r"one week later", rest):
            out["items"] = [(agent, m.group(1), "mg/kg", route, [0.0]), (agent, m.group(2), "mg/kg", route, [7.0])]
        else:
            out["flag"] = f"repetition of the second dose not readable from {rest.strip()!r}"
        return out
    if len(amounts) == 1 and not re.search(r"\b(for|daily|times|consecutive|then|weeks?)\b|x\s*\d", text):
        out["items"] = [(agent, amounts[0], "mg/kg", route, [0.0])]
        out["remark"] = "one administration on day 0: no repetition printed"
        return out
    out["flag"] = "chemotherapy dose printed but its repetition is not (number of doses or interval missing)"
    return out


_SCI = re.compile(rf"({_NUM})\s*[x×]\s*10\^(\d+)")


def _dose(text: str, route_text: str, therapy: str) -> dict:
    """The therapy dose per administration per animal, its repetition offsets, a flag or a remark."""
    out: dict[str, Any] = dict(dose="", offsets=[0.0], flag="", remark="")
    if therapy == "msc":
        found = [f"{m.group(1)}e{m.group(2)}" for m in _SCI.finditer(text)]
        found += [m.group(1).replace(",", "") for m in re.finditer(r"\b(\d{1,3}(?:,\d{3})+)\s*cells", text)]
    else:
        found = [m.group(1) for m in re.finditer(rf"({_NUM})\s*(?:ug|µg)\b", text)]
    distinct = sorted(set(found), key=found.index)
    if not distinct:
        return out
    if len(distinct) > 1:
        out["flag"] = f"{len(distinct)} doses printed ({', '.join(distinct)}): two arms or ambiguous, not averaged"
        return out
    value = distinct[0]
    if re.search(r"/\s*ml\b", text, re.I):
        out["flag"] = f"{value} printed per mL, a concentration: the volume is not printed"
        return out
    if re.search(r"per ovary", text, re.I):
        if re.search(r"both ovaries", text + " " + route_text, re.I):
            out["dose"] = _num(2 * float(value))
            out["remark"] = f"{value} cells per ovary x 2 (both ovaries stated) = {out['dose']} cells per animal"
        else:
            out["flag"] = f"{value} per ovary, and 'both ovaries' is not stated"
        return out
    out["dose"] = value
    if "review table" in text:
        out["remark"] = "dose read from the review table quoted in the sheet"
    m = re.search(r"on days (\d+) and (\d+)", text)
    if m:
        first = float(m.group(1))
        out["offsets"] = [0.0, float(m.group(2)) - first]
        out["remark"] = (out["remark"] + "; " if out["remark"] else "") + (
            f"doses on days {m.group(1)} and {m.group(2)} of treatment: offsets 0 and {_num(out['offsets'][1])} "
            "from treatment_day")
    m = re.search(r"every (other|\d+) days? for (\d+) (days?|weeks?)", text)
    if m:
        every = 2.0 if m.group(1) == "other" else float(m.group(1))
        span = float(m.group(2)) * (7 if m.group(3).startswith("week") else 1)
        out["offsets"] = [k * every for k in range(int(span // every))]
        out["remark"] = (f"'every {m.group(1)} day for {m.group(2)} {m.group(3)}': {len(out['offsets'])} doses, "
                         f"offsets {','.join(_num(o) for o in out['offsets'])} from treatment_day")
    return out


_ROUTES = (("depot", r"hydrogel|patch|implant"), ("intraovarian", r"intraovarian"),
           ("intravenous", r"\bIV\b|\biv\b|intravenous|tail vein"), ("intraperitoneal", r"intraperitoneal|\bip\b"))


def _route(text: str) -> tuple[str, str]:
    """(route, flag)."""
    if not text.strip() or _NOT_STATED.match(text) or re.search(r"route not reported", text):
        return "", ""
    found = [name for name, pattern in _ROUTES if re.search(pattern, text)]
    if len(found) == 1:
        return found[0], ""
    if len(found) > 1 and found[0] == "depot":
        return "depot", ""
    if len(found) > 1:
        return "", f"route printed as {text!r}: more than one route (arms compared)"
    return "", f"route printed as {text!r}: not one of the model's routes"


def _unit_days(number: str, unit: str) -> float:
    return float(number) * (7.0 if unit.lower().startswith("week") else 1.0)


_LIST = re.compile(
    rf"((?:{_NUM}\s*(?:weeks?|days?)?\s*(?:,|and|or)\s*)*{_NUM})\s*(weeks?|days?)\s+(?:after|later|post)"
)


def _times_after(text: str) -> list[float]:
    m = re.search(r"days\s+((?:\d+\s*,\s*)*\d+)\s+after", text)
    if m:
        return [float(x) for x in re.findall(r"\d+", m.group(1))]
    m = _LIST.search(text)
    if m:
        return [_unit_days(n, u or m.group(2)) for n, u in re.findall(rf"({_NUM})\s*(weeks?|days?)?", m.group(1))]
    m = re.search(rf"follow-up ({_NUM}) (weeks?|days?)\b", text)
    if m:
        return [_unit_days(m.group(1), m.group(2))]
    m = re.fullmatch(rf"\s*({_NUM}) (weeks?|days?)\s*", text)
    if m:
        return [_unit_days(m.group(1), m.group(2))]
    return []


_SAMPLING_WORDS = re.compile(r"sampl|collect|harvest|excis|sacrific|follow|later", re.I)


def _timing(timing_text: str, sampling_text: str | None) -> dict:
    """Printed delays (after the last chemotherapy dose) and follow-ups (after the first therapy dose)."""
    out = dict(delays=[], followups=[], timing_flag="", sampling_flag="", timing_printed=False)
    if sampling_text is None:  # EV sheet: one column holds both
        parts = [p.strip() for p in timing_text.split(";")]
        timing_parts = [p for p in parts if not _SAMPLING_WORDS.search(p)]
        sampling_parts = [p for p in parts if _SAMPLING_WORDS.search(p)]
        timing_text, sampling_text = "; ".join(timing_parts), "; ".join(sampling_parts)
    if timing_text.strip() and not _NOT_STATED.match(timing_text):
        out["delays"] = _times_after(timing_text)
    if sampling_text.strip() and not _NOT_STATED.match(sampling_text):
        out["followups"] = _times_after(re.sub(r"\s*\((?:table|thesis chunk)\)", "", sampling_text))
        if not out["followups"] and re.search(r"\d", sampling_text) and not re.search(r"\bover\b", sampling_text):
            out["sampling_flag"] = f"sampling printed as {sampling_text!r}: no time after treatment readable"
    return out


_MODEL_ANALYTES = ANALYTES
_FOLLICLE_CLASSES = ("primordial", "primary", "secondary", "antral")


def _analytes(text: str) -> tuple[str, str]:
    from .analytes import analyte_name

    found: list[str] = []
    unmapped: list[str] = []
    for token in (t.strip() for t in re.split(r"[,;]", text)):
        if not token:
            continue
        plain = re.sub(r"\s*\(.*?\)", "", token).strip()
        plain = re.sub(r"^serum\s+", "", plain, flags=re.I)
        name = analyte_name(plain)
        if name in _MODEL_ANALYTES:
            found.append(name)
            continue
        m = re.fullmatch(r"([a-z/]+) follicles?(?: counts?)?", plain, re.I)
        if m:
            classes = m.group(1).lower().split("/")
            hit = [c for c in classes if c in _FOLLICLE_CLASSES]
            found += hit
            rest = [c for c in classes if c not in _FOLLICLE_CLASSES]
            if rest:
                unmapped.append("/".join(rest) + " follicles")
            continue
        unmapped.append(token)
    ordered = [a for a in _MODEL_ANALYTES if a in found]
    return ";".join(ordered), "; ".join(unmapped)


def _scope(ev: dict[str, str], sheet: str) -> tuple[str, str]:
    if sheet == MSC_SHEET:
        text = ev["in_scope"].strip()
        m = re.fullmatch(r"(yes|no|partly|unclear)\s*(?:\((.*)\))?", text, re.S)
        if not m:
            raise DesignConversionError(f"{sheet} row {ev['_row']}: in_scope {text!r} is not yes/no/partly/unclear")
        if m.group(1) == "yes":
            return "yes", f"printed {text!r}" if m.group(2) else ""
        if m.group(1) == "no":
            return "no", m.group(2) or "printed 'no'"
        return "no", f"printed {text!r}"
    chemo, source, notes = ev["chemo_model"], ev["ev_source"], ev["notes"]
    if re.search(r"\bVCD\b", chemo):
        return "no", f"insult printed as {chemo!r}: VCD ovotoxicant, not chemotherapy"
    if re.search(r"in vitro", chemo):
        return "no", f"insult printed as {chemo!r}: an in-vitro model"
    if not re.search(r"chemo|CTX|CTx|cisplatin|cyclophosphamide", chemo):
        return "no", f"insult printed as {chemo!r}: not stated to be chemotherapy"
    if re.search(r"conditioned medium|secretome|\bCM\b", source + " " + notes):
        return "no", f"product printed as {source!r}: conditioned medium or secretome, not isolated vesicles"
    if re.search(r"not MSC|non-MSC|not MSCs", source + " " + notes):
        return "no", f"product printed as {source!r}: vesicles not from MSCs"
    return "yes", ""


# ---------------------------------------------------------------------------------------------
# the conversion


def _parse(ev: dict[str, str], sheet: str) -> dict:
    therapy = _THERAPY[sheet]
    cols = AS_PRINTED[sheet]
    printed = {out: (ev[src] if src else "") for out, src in cols.items()}
    row: dict = {c: "" for c in DESIGN_COLUMNS}
    row.update(printed)
    row.update(study_id=ev["study_id"], design_id=ev["study_id"], therapy=therapy, notes=ev["notes"],
               evidence_file=sheet, evidence_row=ev["_row"], cell_dose_unit=THERAPY_UNITS[therapy])
    remarks = [ev["_extra"]] if ev["_extra"] else []
    flags: dict[str, str] = {}
    row["in_scope"], row["scope_reason"] = _scope(ev, sheet)
    row["species"], row["strain"] = _species(printed["species_strain_as_printed"])
    row["n_treated"], row["n_control"], n_remark = _n(printed["n_per_group_as_printed"],
                                                      printed["species_strain_as_printed"])
    if n_remark:
        remarks.append(n_remark)
    chemo = _chemo(printed["chemo_as_printed"])
    row["chemo_agent"] = chemo["agent"]
    if chemo["flag"]:
        flags["chemo_schedule"] = chemo["flag"]
    if chemo["remark"]:
        remarks.append(chemo["remark"])
    dose = _dose(printed["cell_dose_as_printed"], printed["route_as_printed"], therapy)
    row["cell_dose"] = dose["dose"]
    if dose["flag"]:
        flags["cell_dose"] = dose["flag"]
    if dose["remark"]:
        remarks.append(dose["remark"])
    route, route_flag = _route(printed["route_as_printed"])
    row["route"] = route
    if route_flag:
        flags["route"] = route_flag
    timing = _timing(printed["timing_as_printed"], None if sheet == EV_SHEET else printed["sampling_as_printed"])
    if timing["sampling_flag"]:
        flags["sampling_day"] = timing["sampling_flag"]
    row["analytes"], row["outcomes_not_mapped"] = _analytes(printed["outcomes_as_printed"])
    row.update(_agents_named=chemo["named"], _chemo_routes=chemo["routes"], _items=chemo["items"], _schedule="",
               _unnamed=chemo.get("unnamed", False), _route=route, _delays=timing["delays"],
               _followups=timing["followups"], _offsets=dose["offsets"], _flags=flags, _remarks=remarks,
               _defaulted=[], _missing=[], _repaired=bool(ev["_extra"]))
    if len(timing["delays"]) > 1:
        first = timing["delays"][0]
        row["_offsets"] = [d - first for d in timing["delays"]]
        remarks.append(f"therapy given {' and '.join(_num(d) for d in timing['delays'])} days after chemotherapy: "
                       f"offsets {','.join(_num(o) for o in row['_offsets'])} from treatment_day")
    return row


def _mark_duplicates(rows: list[dict], ledger: list[dict]) -> list[dict]:
    first: dict[tuple[str, str], dict] = {}
    by_id = {(r["evidence_file"], r["study_id"]): r for r in reversed(rows)}
    superseded = set()
    for r in rows:
        m = re.search(r"supersedes .*?row (\S+)", r["notes"])
        if m:
            superseded.add((r["evidence_file"], m.group(1)))
            ledger.append(dict(evidence_file=r["evidence_file"], evidence_row=by_id[(r["evidence_file"], m.group(1))][
                "evidence_row"], study_id=m.group(1), design_id="", decision="skipped",
                reason=f"superseded by row {r['evidence_row']} ({r['study_id']}) of the same sheet, per its notes"))
    kept = []
    for r in rows:
        key = (r["evidence_file"], r["study_id"])
        if key in superseded:
            continue
        if key in first:
            r["design_id"] = f"{r['study_id']}_row{r['evidence_row']}"
            r["duplicate_of"] = first[key]["design_id"]
            r["_remarks"].append(f"study_id repeats row {first[key]['evidence_row']}: the same study read from another "
                                 f"source, kept as {r['design_id']}, duplicate_of {r['duplicate_of']}")
        else:
            first[key] = r
        m = re.search(r"complements (\S+) row", r["notes"])
        if m and (r["evidence_file"], m.group(1)) in first:
            r["duplicate_of"] = first[(r["evidence_file"], m.group(1))]["design_id"]
            r["_remarks"].append(f"the notes say it complements {m.group(1)}: duplicate_of {r['duplicate_of']}")
        # "the cisplatin MenSC row matches the design of ... (s13287-016-0458-1)": that row of a review table is the
        # named study's design
        m = re.search(r"the (\w+) (\w+) row matches the design of [^(]*\(([^)]+)\)", r["notes"])
        named = [o for o in rows if o is not r and o["evidence_file"] == r["evidence_file"] and m
                 and m.group(3) in o["study_id"]]
        if m and len(named) == 1 and not r["duplicate_of"] and m.group(1) in r["chemo_as_printed"] \
                and m.group(2) in r["cell_type"]:
            r["duplicate_of"] = named[0]["design_id"]
            r["_remarks"].append(f"the notes say this row matches the design of {m.group(3)}: duplicate_of "
                                 f"{r['duplicate_of']}")
        if r["duplicate_of"]:
            ledger.append(dict(evidence_file=r["evidence_file"], evidence_row=r["evidence_row"], study_id=r["study_id"],
                               design_id=r["design_id"], decision="kept, duplicate",
                               reason=f"same study as {r['duplicate_of']}; left out of the default counts"))
        kept.append(r)
    return kept


def _apply(rows: list[dict]) -> None:
    defaults = compute_defaults(rows)
    chemo_route = defaults.get(("chemo_route", ""))
    for r in rows:  # complete printed schedules (route default where the route is not printed)
        if r["_items"]:
            items = r["_items"]
            if any(not it[3] for it in items) and chemo_route is not None:
                items = [(a, amt, u, rt or chemo_route.value, d) for a, amt, u, rt, d in items]
                r["_remarks"].append("chemo_schedule defaulted: its route only, the chemotherapy route is not printed; "
                                     + chemo_route.note())
                r["_chemo_route_defaulted"] = True
            r["_schedule"] = format_schedule(items)
    defaults = compute_defaults(rows)
    for r in rows:
        remarks, flags = r["_remarks"], r["_flags"]

        def default(field: str, key: str = ""):
            d = defaults.get((field, key))
            if d is not None:
                r["_defaulted"].append(field)
                remarks.append(d.note())
            return d

        if r["_unnamed"]:
            d = default("chemo_agent")
            r["chemo_agent"] = d.value if d else ""
        if r["_schedule"]:
            r["chemo_schedule"] = r["_schedule"]
            if r.get("_chemo_route_defaulted"):
                r["_defaulted"].append("chemo_schedule")
        elif "chemo_schedule" not in flags and r["chemo_agent"] and r["species"]:
            d = default("chemo_schedule", f"{r['species']}|{r['chemo_agent']}")
            if d is not None:
                r["chemo_schedule"] = d.value
                remarks.append(f"the printed chemotherapy text {r['chemo_as_printed']!r} is not used beyond its agent")
        if not r["chemo_schedule"] and "chemo_schedule" not in flags:
            r["_missing"].append("chemo_schedule")
        if not r["route"] and "route" not in flags:
            d = default("route", r["therapy"])
            r["route"] = d.value if d else ""
        if not r["cell_dose"] and "cell_dose" not in flags:
            r["_missing"].append("cell_dose")
        if not r["species"]:
            r["_missing"].append("species")
        for field in ("n_treated", "n_control"):
            if not r[field]:
                r["_missing"].append(field)
        if r["chemo_schedule"]:
            last = max(dose.time for dose in parse_schedule(r["chemo_schedule"]))
            if r["_delays"]:
                start = last + r["_delays"][0]
                remarks.append(f"treatment_day = last chemotherapy day {_num(last)} + printed delay "
                               f"{_num(r['_delays'][0])}")
            else:
                d = default("treatment_day")
                start = last + float(d.value) if d else None
            if start is not None:
                r["treatment_day"] = _num(start)
                r["therapy_offsets"] = ",".join(_num(o) for o in r["_offsets"])
                if r["_followups"]:
                    r["sampling_day"] = ",".join(_num(start + f) for f in r["_followups"])
                elif "sampling_day" not in flags:
                    d = default("sampling_day")
                    r["sampling_day"] = _num(start + float(d.value)) if d else ""
        else:
            for field in ("treatment_day", "sampling_day"):
                if field not in flags:
                    r["_missing"].append(field)
            remarks.append("no chemotherapy schedule: treatment and sampling days cannot be counted from day 0")
        if not r["analytes"]:
            r["_missing"].append("analytes")
        for field, reason in flags.items():
            remarks.append(f"{field} flagged: {reason}")
        r["defaulted_fields"] = ";".join(r["_defaulted"])
        r["flagged_fields"] = ";".join(flags)
        r["missing_fields"] = ";".join(dict.fromkeys(r["_missing"]))
        if remarks:
            r["notes"] = r["notes"] + SEP + "; ".join(remarks)


def convert_designs(evidence_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the design table and its ledger converted from the two design sheets.

    Parameters
    ----------
    evidence_dir : str or Path
        Folder holding ``designs_msc_preclinical.csv`` and ``designs_ev_preclinical.csv``.
    out_dir : str or Path
        Folder to write to (the package's ``poi_ode/data/bundled/`` for the bundled table).

    Returns
    -------
    list of Path
        ``preclinical_designs.csv`` and ``preclinical_designs_skipped.csv``; the output depends only on
        the sheets (rerunning gives identical bytes).

    Raises
    ------
    DesignConversionError
        If a sheet is missing, lacks a column, or has a value the converter does not know how to read.
    """
    evidence_dir, out_dir = Path(evidence_dir), Path(out_dir)
    rows = []
    for sheet in (MSC_SHEET, EV_SHEET):
        rows += [_parse(ev, sheet) for ev in _read(evidence_dir / sheet)]
    ledger: list[dict] = []
    rows = _mark_duplicates(rows, ledger)
    _apply(rows)
    for r in rows:
        if r["flagged_fields"]:
            ledger.append(dict(evidence_file=r["evidence_file"], evidence_row=r["evidence_row"], study_id=r["study_id"],
                               design_id=r["design_id"], decision="kept, fields flagged",
                               reason="; ".join(f"{k}: {v}" for k, v in r["_flags"].items())))
        if r["_repaired"]:
            ledger.append(dict(evidence_file=r["evidence_file"], evidence_row=r["evidence_row"], study_id=r["study_id"],
                               design_id=r["design_id"], decision="kept, notes repaired",
                               reason="more fields than the header: extra fields joined back into notes"))
    ids = [r["design_id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise DesignConversionError(f"design ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
    ledger.sort(key=lambda r: (r["evidence_file"], int(r["evidence_row"]), r["decision"]))
    return [write_table(out_dir / f"{DESIGNS_NAME}.csv", DESIGN_COLUMNS, rows),
            write_table(out_dir / SKIPPED_FILE, SKIPPED_COLUMNS, ledger)]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m poi_ode.data.evidence_designs [EVIDENCE_DIR] [OUT_DIR]``; returns the exit status."""
    return converter_main(argv, "poi_ode.data.evidence_designs", convert_designs, DesignConversionError)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
