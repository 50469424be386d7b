"""Preclinical study designs (MSC and exosome studies in chemotherapy-induced POI) as simulable arms.

The bundled table ``poi_ode/data/bundled/preclinical_designs.csv`` is written **by code** from the
team's evidence sheets (``../shared/evidence/designs_msc_preclinical.csv`` and
``designs_ev_preclinical.csv``) by :mod:`poi_ode.data.evidence_designs`; one row per design. This
module reads it (:func:`load_designs`, validated), turns a row into a treated and a control
:class:`~poi_ode.dosing.Regimen` (:meth:`Design.arms`) and says whether a design can be simulated
(:func:`simulable`, with the reason when it cannot).

Conventions of the table (all days count from the **first chemotherapy dose**, day 0):

``chemo_schedule``
    Doses separated by ``"; "``, each ``AGENT AMOUNT UNIT ROUTE@DAYS``, e.g.
    ``"cyclophosphamide 50 mg/kg intraperitoneal@0; cyclophosphamide 8 mg/kg intraperitoneal@1..14"``.
    ``DAYS`` is one day (``0``), a comma list (``0,7``) or an inclusive daily run ``a..b`` (one dose on
    every day from ``a`` to ``b``). ``AMOUNT`` is the printed number. :func:`parse_schedule` and
    :func:`format_schedule` are the grammar.
``treatment_day`` and ``therapy_offsets``
    Day of the first therapy dose, and the days of every therapy dose relative to it (``"0"``: one dose;
    ``"0,2,4"``: repeated doses as printed).
``sampling_day``
    Comma list of the sampling days (several where the design samples at several times).
``defaulted_fields`` / ``flagged_fields`` / ``missing_fields``
    ``;``-separated field names: not printed and filled by a default of :data:`DEFAULTS` (the value
    and its counts are in ``notes``); printed but ambiguous (a range, two arms, a concentration), left
    blank and not guessed; not printed and without default (left blank). A field in none of them was
    parsed from the printed text.
"""
from __future__ import annotations

import csv
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from ..dosing import Dose, Regimen, check_dose
from ..errors import PoiOdeError
from ..model.insult import CHEMOTHERAPY_AGENTS
from ..parameters import available_species

if TYPE_CHECKING:  # pragma: no cover
    from ..model.core import Model

__all__ = [
    "Design", "DesignError", "DesignDefault", "DEFAULTS", "Simulability", "load_designs", "simulable",
    "parse_schedule", "format_schedule", "compute_defaults", "DefaultValue", "DESIGN_COLUMNS", "THERAPY_UNITS",
    "THERAPY_ROUTES", "CHEMO_ROUTES", "DESIGNS_FILE", "ANALYTES",
]

DESIGNS_FILE = Path(__file__).resolve().parents[1] / "data" / "bundled" / "preclinical_designs.csv"
"""The bundled design table (written by :mod:`poi_ode.data.evidence_designs`)."""

THERAPY_UNITS = {"msc": "cells", "exosome": "ug"}
"""Dose unit of each therapy: MSCs in cells per animal, exosomes in µg vesicle protein per animal."""
THERAPY_ROUTES = ("intravenous", "intraovarian", "intraperitoneal", "depot")
"""Therapy routes the MSC and exosome modules take."""
CHEMO_ROUTES = ("intravenous", "intraperitoneal", "oral")
"""Chemotherapy routes the insult module takes."""

ANALYTES = ("E2", "FSH", "AMH", "InhB", "primordial", "primary", "secondary", "antral")
"""Model analytes a design may list as measured (names of :data:`poi_ode.data.ANALYTES`)."""

#: the parsed fields of a design row (those that ``defaulted_fields``, ``flagged_fields`` and ``missing_fields``
#: may name)
PARSED_FIELDS = (
    "species", "strain", "n_treated", "n_control", "chemo_agent", "chemo_schedule", "cell_dose", "route",
    "treatment_day", "therapy_offsets", "sampling_day", "analytes",
)

#: the columns of the design table, in order
DESIGN_COLUMNS = (
    "design_id", "study_id", "therapy", "species", "strain", "in_scope", "scope_reason", "n_treated", "n_control",
    "chemo_agent", "chemo_schedule", "cell_type", "cell_dose", "cell_dose_unit", "route", "treatment_day",
    "therapy_offsets", "sampling_day", "analytes", "outcomes_not_mapped", "duplicate_of",
    "defaulted_fields", "flagged_fields", "missing_fields",
    "in_scope_as_printed", "species_strain_as_printed", "n_per_group_as_printed", "chemo_as_printed",
    "cell_dose_as_printed", "route_as_printed", "timing_as_printed", "sampling_as_printed", "outcomes_as_printed",
    "numbers_visible", "numeric_outcomes_found", "source_location", "source_of_design_info", "doi_or_pmcid",
    "source_url", "notes", "evidence_file", "evidence_row",
)


class DesignError(PoiOdeError, ValueError):
    """A design table or a design is malformed; the message names the file, row, design and column."""


# ---------------------------------------------------------------------------------------------
# the schedule grammar

_ITEM = re.compile(
    r"(?P<agent>[A-Za-z][\w\-]*) (?P<amount>\d+(?:\.\d+)?) (?P<unit>\S+) (?P<route>[a-z]+)@(?P<days>\S+)"
)


def _days(text: str) -> list[float]:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\.\.(\d+(?:\.\d+)?)", text)
    if m:
        a, b = float(m.group(1)), float(m.group(2))
        if b < a or a != int(a) or b != int(b):
            raise ValueError(f"daily run {text!r} must be whole days a..b with a <= b")
        return [float(d) for d in range(int(a), int(b) + 1)]
    out = []
    for part in text.split(","):
        if not re.fullmatch(r"\d+(?:\.\d+)?", part):
            raise ValueError(f"day {part!r} of {text!r} is not a number >= 0")
        out.append(float(part))
    return out


def parse_schedule(text: str) -> list[Dose]:
    """The doses of a ``chemo_schedule`` string (see the module docstring), sorted by day.

    Parameters
    ----------
    text : str
        For example ``"cyclophosphamide 80 mg/kg intraperitoneal@0"``.

    Returns
    -------
    list of Dose
        Days from the first chemotherapy dose; amounts in the printed unit (mg/kg).

    Raises
    ------
    ValueError
        Naming the item that does not follow the grammar.
    """
    doses = []
    for item in str(text).split("; "):
        m = _ITEM.fullmatch(item.strip())
        if not m:
            raise ValueError(f"schedule item {item!r} is not 'AGENT AMOUNT UNIT ROUTE@DAYS'")
        if m["route"] not in CHEMO_ROUTES:
            raise ValueError(f"schedule item {item!r}: route {m['route']!r} is not one of {', '.join(CHEMO_ROUTES)}")
        try:
            days = _days(m["days"])
        except ValueError as exc:
            raise ValueError(f"schedule item {item!r}: {exc}") from None
        doses += [Dose(d, m["agent"], float(m["amount"]), m["unit"], m["route"]) for d in days]
    return sorted(doses, key=lambda d: d.time)


def format_schedule(items: Iterable[tuple[str, str, str, str, Sequence[float]]]) -> str:
    """A ``chemo_schedule`` string from ``(agent, amount as printed, unit, route, days)`` items.

    A run of consecutive whole days of three or more is written ``a..b``; other days as a comma list.
    """
    out = []
    for agent, amount, unit, route, days in items:
        ds = sorted(float(d) for d in days)
        whole = all(d == int(d) for d in ds)
        if len(ds) >= 3 and whole and ds == [float(d) for d in range(int(ds[0]), int(ds[-1]) + 1)]:
            day_text = f"{int(ds[0])}..{int(ds[-1])}"
        else:
            day_text = ",".join(_num(d) for d in ds)
        out.append(f"{agent} {amount} {unit} {route}@{day_text}")
    return "; ".join(out)


def _num(x: float) -> str:
    return str(int(x)) if float(x) == int(x) else format(float(x), ".15g")


# ---------------------------------------------------------------------------------------------
# documented defaults


@dataclass(frozen=True)
class DesignDefault:
    """A default for a field the sheet leaves out.

    Attributes
    ----------
    field : str
        The design field filled (a name of ``PARSED_FIELDS``, or ``chemo_route`` for the route inside
        ``chemo_schedule``).
    rule : str
        How the value is chosen from the sheets (by :func:`compute_defaults`, with the counts).
    reason : str
        Why this is a fair stand-in.
    """

    field: str
    rule: str
    reason: str


DEFAULTS: tuple[DesignDefault, ...] = (
    DesignDefault(
        "chemo_agent",
        "the printed text says the model is chemotherapy-induced but names no agent -> the modelled agent named by "
        "most in-scope designs (counted over in-scope, non-duplicate designs of both sheets)",
        "cyclophosphamide is the induction used by most chemotherapy-induced designs that name their agent; the "
        "meta-analyses' study tables pool such unnamed designs with the named ones",
    ),
    DesignDefault(
        "chemo_route",
        "a printed chemotherapy dose without route -> the chemotherapy route printed by most designs",
        "rodent cyclophosphamide and cisplatin induction is almost always intraperitoneal; route does not change the "
        "mg/kg exposure of the insult module (every chemotherapy route enters the same exposure state)",
    ),
    DesignDefault(
        "chemo_schedule",
        "no printed amount (or no regimen at all) -> the complete printed schedule of the same species and agent(s) "
        "printed by most designs (ties: the first in sheet order); none printed -> left blank (missing)",
        "induction protocols are copied between laboratories within a species; a schedule from another species is "
        "never borrowed because mg/kg sensitivity differs between species",
    ),
    DesignDefault(
        "route",
        "therapy route not printed -> the route printed by most designs of the same therapy (MSC or exosome)",
        "the meta-analyses' designs are mostly intravenous; the route subgroup of a pooled effect is then the "
        "majority one",
    ),
    DesignDefault(
        "treatment_day",
        "no printed delay between chemotherapy and therapy ('after CTX', 'not in table') -> the last chemotherapy "
        "dose day plus the median printed delay (days after the last chemotherapy dose, in-scope non-duplicate "
        "designs of both sheets)",
        "designs treat once the induction course is over; the printed delays cluster at one to two weeks",
    ),
    DesignDefault(
        "sampling_day",
        "no printed sampling time -> the first therapy dose day plus the median printed follow-up (days after the "
        "first therapy dose, in-scope non-duplicate designs of both sheets)",
        "the pooled effects are end-of-study contrasts; the median follow-up stands for an unknown end of study",
    ),
)
"""The documented defaults (each applied by :mod:`poi_ode.data.evidence_designs` and written into the row's
``defaulted_fields`` and ``notes`` with its value and counts)."""


@dataclass(frozen=True)
class DefaultValue:
    """A default computed from the sheets: its value, how many designs printed it, out of how many."""

    field: str
    key: str
    value: object
    count: int
    total: int
    detail: str

    def note(self) -> str:
        """The remark written into a defaulted row's notes."""
        return f"{self.field} defaulted: {self.detail} ({self.count} of {self.total} designs)"


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def _items(value: object) -> list:
    """A parsed list field of a converter row (a list or tuple; anything else is empty)."""
    return list(value) if isinstance(value, (list, tuple)) else []


def compute_defaults(rows: Sequence[Mapping[str, object]]) -> dict[tuple[str, str], DefaultValue]:
    """The values of :data:`DEFAULTS`, computed from parsed design rows (before defaults are applied).

    Parameters
    ----------
    rows : sequence of mapping
        The converter's parsed rows, with ``in_scope``, ``duplicate_of``, ``therapy``, ``species``,
        ``chemo_agent`` and the private parsed items ``_agents_named`` (modelled agents named in the
        print), ``_schedule`` (complete printed schedule string or ``""``), ``_chemo_routes`` (printed
        chemotherapy routes), ``_route`` (printed therapy route), ``_delays`` (printed delays after the last
        chemotherapy dose, days) and ``_followups`` (printed follow-ups after the first therapy dose, days).

    Returns
    -------
    dict
        ``(field, key) -> DefaultValue``; ``key`` is ``""``, the therapy (route) or ``"species|agent"``
        (schedule).
    """
    counted = [r for r in rows if r["in_scope"] == "yes" and not r["duplicate_of"]]
    out: dict[tuple[str, str], DefaultValue] = {}

    named = Counter(a for r in counted for a in _items(r["_agents_named"]))
    n_named = sum(1 for r in counted if r["_agents_named"])
    if named:
        agent, k = named.most_common(1)[0]
        out[("chemo_agent", "")] = DefaultValue(
            "chemo_agent", "", agent, k, n_named,
            f"{agent!r}, the agent named by most in-scope designs that name a modelled agent "
            f"({dict(named.most_common())})")

    routes = Counter(x for r in counted for x in _items(r["_chemo_routes"]))
    if routes:
        route, k = routes.most_common(1)[0]
        out[("chemo_route", "")] = DefaultValue(
            "chemo_route", "", route, k, sum(1 for r in counted if r["_chemo_routes"]),
            f"{route!r}, the chemotherapy route printed by most designs that print one ({dict(routes.most_common())})")

    by_key: dict[str, Counter] = {}
    for r in counted:
        if r["_schedule"]:
            by_key.setdefault(f"{r['species']}|{r['chemo_agent']}", Counter())[r["_schedule"]] += 1
    for key, counter in by_key.items():
        schedule, k = counter.most_common(1)[0]
        out[("chemo_schedule", key)] = DefaultValue(
            "chemo_schedule", key, schedule, k, sum(counter.values()),
            f"{schedule!r}, the complete schedule printed by most in-scope {key.replace('|', ' ')} designs")

    for therapy in THERAPY_UNITS:
        printed = Counter(str(r["_route"]) for r in counted if r["therapy"] == therapy and r["_route"])
        if printed:
            route, k = printed.most_common(1)[0]
            out[("route", therapy)] = DefaultValue(
                "route", therapy, route, k, sum(printed.values()),
                f"{route!r}, the route printed by most in-scope {therapy} designs ({dict(printed.most_common())})")

    delays = [float(_items(r["_delays"])[0]) for r in counted if _items(r["_delays"])]
    if delays:
        out[("treatment_day", "")] = DefaultValue(
            "treatment_day", "", _median(delays), len(delays), len(delays),
            f"the last chemotherapy dose day plus {_num(_median(delays))} days, the median printed delay after the "
            f"last chemotherapy dose (printed delays {', '.join(_num(d) for d in sorted(delays))})")
    follow = [max(float(x) for x in _items(r["_followups"])) for r in counted if r["_followups"]]
    if follow:
        out[("sampling_day", "")] = DefaultValue(
            "sampling_day", "", _median(follow), len(follow), len(follow),
            f"the first therapy dose day plus {_num(_median(follow))} days, the median printed follow-up after the "
            f"first therapy dose (last printed sampling of each design: {', '.join(_num(d) for d in sorted(follow))})")
    return out


# ---------------------------------------------------------------------------------------------
# designs


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",")) if text else ()


@dataclass(frozen=True)
class Design:
    """One preclinical design (a row of the design table).

    Attributes
    ----------
    design_id, study_id : str
        Unique design name; the evidence sheet's study id.
    therapy : {"msc", "exosome"}
    species, strain : str
        ``"mouse"``, ``"rat"``, ``"rabbit"`` or ``""`` (not printed); strain or ``""``.
    in_scope : bool
        Chemotherapy-induced POI treated with MSCs or MSC-derived vesicles; ``scope_reason`` says why not.
    n_treated, n_control : int or None
        Animals per arm, where printed.
    chemo_agent : str
        ``"cyclophosphamide"``, ``"cisplatin"``, ``"busulfan+cyclophosphamide"``, or an unmodelled insult.
    chemo_schedule : str
        The chemotherapy doses (grammar: :func:`parse_schedule`); ``""`` where unknown.
    cell_dose : float or None
        Therapy dose per administration per animal, in ``cell_dose_unit`` (``"cells"`` or ``"ug"``).
    route : str
        Therapy route (:data:`THERAPY_ROUTES`) or ``""``.
    treatment_day : float or None
        Day of the first therapy dose, days from the first chemotherapy dose.
    therapy_offsets : tuple of float
        Days of every therapy dose relative to ``treatment_day``.
    sampling_days : tuple of float
        Sampling days (days from the first chemotherapy dose).
    analytes : tuple of str
        Model analytes measured (``E2``, ``FSH``, ``AMH``, ``InhB``, follicle classes).
    defaulted_fields, flagged_fields, missing_fields : tuple of str
        See the module docstring.
    row : dict
        The whole table row (provenance and ``_as_printed`` columns).
    """

    design_id: str
    study_id: str
    therapy: str
    species: str
    strain: str
    in_scope: bool
    scope_reason: str
    n_treated: int | None
    n_control: int | None
    chemo_agent: str
    chemo_schedule: str
    cell_dose: float | None
    cell_dose_unit: str
    route: str
    treatment_day: float | None
    therapy_offsets: tuple[float, ...]
    sampling_days: tuple[float, ...]
    analytes: tuple[str, ...]
    defaulted_fields: tuple[str, ...]
    flagged_fields: tuple[str, ...]
    missing_fields: tuple[str, ...]
    row: Mapping[str, str]

    @property
    def sampling_day(self) -> float | None:
        """The last sampling day (end of study), days from the first chemotherapy dose; None if unknown."""
        return max(self.sampling_days) if self.sampling_days else None

    def chemotherapy(self) -> list[Dose]:
        """The chemotherapy doses (days from the first chemotherapy dose)."""
        if not self.chemo_schedule:
            raise DesignError(f"design {self.design_id}: no chemotherapy schedule ({self._why()})")
        return parse_schedule(self.chemo_schedule)

    def therapy_doses(self) -> list[Dose]:
        """The MSC or exosome doses of the treated arm."""
        if self.cell_dose is None or self.treatment_day is None or not self.route:
            raise DesignError(f"design {self.design_id}: therapy dose, day or route unknown ({self._why()})")
        return [Dose(self.treatment_day + o, self.therapy, self.cell_dose, self.cell_dose_unit, self.route)
                for o in self.therapy_offsets]

    def arms(self, model: "Model | None" = None) -> tuple[Regimen, Regimen]:
        """The treated and the control regimen.

        Parameters
        ----------
        model : Model, optional
            If given, every dose is checked against its agents, routes and units.

        Returns
        -------
        (Regimen, Regimen)
            ``(treated, control)``: the control arm is the chemotherapy alone, the treated arm adds the
            therapy dose(s) at ``treatment_day + therapy_offsets`` by ``route``. Days from the first
            chemotherapy dose.

        Raises
        ------
        DesignError
            If the design is not simulable (the reason is in the message) or a dose does not fit ``model``.
        """
        verdict = simulable(self)
        if not verdict and not verdict.reason.startswith("no parameter set"):
            raise DesignError(f"design {self.design_id} is not simulable: {verdict.reason}")
        control = Regimen(self.chemotherapy())
        treated = control + Regimen(self.therapy_doses())
        if model is not None:
            for dose in treated:
                try:
                    check_dose(model, dose)
                except PoiOdeError as exc:
                    raise DesignError(f"design {self.design_id}: {exc}") from None
        return treated, control

    def _why(self) -> str:
        parts = []
        if self.flagged_fields:
            parts.append(f"flagged as ambiguous in the sheet: {', '.join(self.flagged_fields)}")
        if self.missing_fields:
            parts.append(f"not printed: {', '.join(self.missing_fields)}")
        return "; ".join(parts) or "see notes"


@dataclass(frozen=True)
class Simulability:
    """Whether a design can be simulated; true in a boolean context when it can. ``reason`` says why not."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


def simulable(design: Design) -> Simulability:
    """Whether ``design`` can be simulated now, with the reason when not.

    Not simulable: out of scope; no species printed; no parameter set for the species
    (:func:`poi_ode.available_species`: a rat design becomes simulable once a rat set exists); an insult the
    model has no agent for; no usable chemotherapy schedule, therapy dose, route, treatment day or sampling day
    (ambiguous or not printed, see ``flagged_fields`` and ``missing_fields``).
    """
    if not design.in_scope:
        return Simulability(False, f"out of scope: {design.scope_reason}")
    if not design.species:
        return Simulability(False, "species not printed")
    agents = design.chemo_agent.split("+") if design.chemo_agent else []
    unmodelled = [a for a in agents if a not in CHEMOTHERAPY_AGENTS]
    if unmodelled:
        return Simulability(False, f"insult {'+'.join(unmodelled)!r} is not a modelled chemotherapy agent "
                                   f"({', '.join(CHEMOTHERAPY_AGENTS)})")
    needed = {"chemo_schedule": design.chemo_schedule, "cell_dose": design.cell_dose, "route": design.route,
              "treatment_day": design.treatment_day, "sampling_day": design.sampling_days}
    for name, value in needed.items():
        if value in ("", None, ()):
            state = ("ambiguous as printed" if name in design.flagged_fields else "not printed and no default")
            return Simulability(False, f"{name} unknown ({state}; see notes)")
    species = available_species()
    if design.species not in species:
        return Simulability(False, f"no parameter set for species {design.species!r} (available: "
                                   f"{', '.join(species)})")
    return Simulability(True)


# ---------------------------------------------------------------------------------------------
# loading and validation


def _list(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.split(";") if x) if text else ()


def _design(row: Mapping[str, str], where: str, problems: list[str]) -> Design | None:
    bad = len(problems)

    def problem(column: str, message: str) -> None:
        problems.append(f"{where}, column {column!r}: {message}")

    def number(column: str, whole: bool = False, positive: bool = False) -> float | None:
        text = row[column].strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            problem(column, f"{text!r} is not a number")
            return None
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            problem(column, f"{text!r} must be a finite number {'> 0' if positive else '>= 0'}")
        elif whole and value != int(value):
            problem(column, f"{text!r} is not a whole number")
        return value

    def numbers(column: str) -> tuple[float, ...]:
        text = row[column].strip()
        try:
            values = _floats(text)
        except ValueError:
            problem(column, f"{text!r} is not a comma list of numbers")
            return ()
        if any(not math.isfinite(v) or v < 0 for v in values):
            problem(column, f"{text!r} has a value that is not a finite number >= 0")
        return values

    if not row["design_id"].strip():
        problem("design_id", "empty")
    therapy = row["therapy"].strip()
    if therapy not in THERAPY_UNITS:
        problem("therapy", f"{therapy!r} is not one of {', '.join(THERAPY_UNITS)}")
    if row["in_scope"] not in ("yes", "no"):
        problem("in_scope", f"{row['in_scope']!r} is not 'yes' or 'no'")
    elif row["in_scope"] == "no" and not row["scope_reason"].strip():
        problem("scope_reason", "empty for a design out of scope")
    n_treated = number("n_treated", whole=True, positive=True)
    n_control = number("n_control", whole=True, positive=True)
    if row["chemo_schedule"].strip():
        try:
            doses = parse_schedule(row["chemo_schedule"])
        except (ValueError, PoiOdeError) as exc:
            problem("chemo_schedule", str(exc))
        else:
            named = set(row["chemo_agent"].split("+"))
            other = sorted({d.agent for d in doses} - named)
            if other:
                problem("chemo_schedule", f"agent(s) {', '.join(other)} not in chemo_agent {row['chemo_agent']!r}")
    dose = number("cell_dose", positive=True)
    unit = row["cell_dose_unit"].strip()
    if therapy in THERAPY_UNITS and unit != THERAPY_UNITS[therapy]:
        problem("cell_dose_unit", f"{unit!r} is not the {therapy} unit {THERAPY_UNITS[therapy]!r}")
    route = row["route"].strip()
    if route and route not in THERAPY_ROUTES:
        problem("route", f"{route!r} is not one of {', '.join(THERAPY_ROUTES)} (or blank)")
    treatment_day = number("treatment_day")
    offsets = numbers("therapy_offsets")
    if treatment_day is not None and (not offsets or offsets[0] != 0):
        problem("therapy_offsets", f"{row['therapy_offsets']!r} must start with 0 when treatment_day is given")
    sampling = numbers("sampling_day")
    if treatment_day is not None and sampling and min(sampling) <= treatment_day:
        problem("sampling_day", f"{row['sampling_day']!r} is not after treatment_day {treatment_day:g}")
    strange = [a for a in _list(row["analytes"]) if a not in ANALYTES]
    if strange:
        problem("analytes", f"unknown analyte(s) {', '.join(strange)}; known: {', '.join(ANALYTES)}")
    for column in ("defaulted_fields", "flagged_fields", "missing_fields"):
        unknown = [f for f in _list(row[column]) if f not in PARSED_FIELDS]
        if unknown:
            problem(column, f"unknown field(s) {', '.join(unknown)}; known: {', '.join(PARSED_FIELDS)}")
    if len(problems) > bad:
        return None
    return Design(
        design_id=row["design_id"].strip(), study_id=row["study_id"], therapy=therapy, species=row["species"],
        strain=row["strain"], in_scope=row["in_scope"] == "yes", scope_reason=row["scope_reason"],
        n_treated=None if n_treated is None else int(n_treated),
        n_control=None if n_control is None else int(n_control),
        chemo_agent=row["chemo_agent"], chemo_schedule=row["chemo_schedule"].strip(), cell_dose=dose,
        cell_dose_unit=unit, route=route, treatment_day=treatment_day, therapy_offsets=offsets,
        sampling_days=sampling, analytes=_list(row["analytes"]), defaulted_fields=_list(row["defaulted_fields"]),
        flagged_fields=_list(row["flagged_fields"]), missing_fields=_list(row["missing_fields"]), row=dict(row),
    )


def load_designs(name: str | Path = "preclinical_designs") -> list[Design]:
    """The designs of a design table, validated.

    Parameters
    ----------
    name : str or Path
        ``"preclinical_designs"`` (the bundled table) or the path of a CSV file with :data:`DESIGN_COLUMNS`.

    Returns
    -------
    list of Design
        In table order.

    Raises
    ------
    DesignError
        Listing every problem with its file, row (header = row 1), design id and column.
    """
    path = DESIGNS_FILE.with_name(f"{name}.csv") if isinstance(name, str) and "/" not in name and not \
        name.endswith(".csv") else Path(name)
    if not path.exists():
        raise DesignError(f"no design table {str(name)!r} (looked for {path.name})")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in DESIGN_COLUMNS if c not in header]
        if missing:
            raise DesignError(f"{path.name}: column(s) missing: {', '.join(missing)}")
        problems: list[str] = []
        designs = []
        seen: dict[str, int] = {}
        for k, raw in enumerate(reader, start=2):
            if None in raw:
                problems.append(f"{path.name} row {k}: more fields than the header has columns")
                continue
            row = {c: (v or "") for c, v in raw.items()}
            where = f"{path.name} row {k} (design {row['design_id']!r})"
            if row["design_id"] in seen:
                problems.append(f"{where}, column 'design_id': repeats row {seen[row['design_id']]}")
            seen.setdefault(row["design_id"], k)
            design = _design(row, where, problems)
            if design is not None:
                designs.append(design)
    if problems:
        raise DesignError(f"{len(problems)} problem(s) in {path.name}:\n  " + "\n  ".join(problems))
    return designs
