"""Named chemotherapy protocols as regimens (the standard schedules the insult is calibrated and checked on).

Doses are the protocols' definitions, not measurements: each entry says which agents the model
carries and which it leaves out (methotrexate, 5-fluorouracil, bleomycin, vinblastine, dacarbazine,
etoposide, procarbazine and taxanes have no exposure state; their ovarian toxicity is not modelled).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .dosing import Dose
from .errors import DosingError

__all__ = ["Protocol", "PROTOCOLS", "protocol"]


@dataclass(frozen=True)
class Protocol:
    """A chemotherapy protocol.

    Attributes
    ----------
    name : str
        Short name (``"AC"``, ``"CMF"``...).
    description : str
        The schedule, the modelled agents and what is left out.
    doses : callable
        ``doses(cycles)`` returns the regimen (days from the first dose).
    default_cycles : int
        Cycles of the usual course.
    """

    name: str
    description: str
    doses: Callable[[int], list[Dose]]
    default_cycles: int


def _cycles(length: float, days: tuple[float, ...], agents: tuple[tuple[str, float, str, str], ...]):
    def build(cycles: int) -> list[Dose]:
        return [Dose(c * length + d, agent, amount, unit, route)
                for c in range(cycles) for d in days for agent, amount, unit, route in agents]
    return build


def _daily(agent: str, amount: float, unit: str, route: str):
    def build(days: int) -> list[Dose]:
        return [Dose(float(d), agent, amount, unit, route) for d in range(days)]
    return build


def _bucy(cycles: int) -> list[Dose]:
    busulfan = [Dose(float(d), "busulfan", 4.0, "mg/kg", "oral") for d in range(4)]
    return busulfan + [Dose(float(d), "cyclophosphamide", 60.0, "mg/kg", "intravenous") for d in (4, 5)]


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    Protocol("AC", "doxorubicin 60 mg/m2 + cyclophosphamide 600 mg/m2 iv, day 1 of 21-day cycles (adjuvant breast)",
             _cycles(21.0, (0.0,), (("doxorubicin", 60.0, "mg/m**2", "intravenous"),
                                    ("cyclophosphamide", 600.0, "mg/m**2", "intravenous"))), 4),
    Protocol("CMF", "cyclophosphamide 600 mg/m2 iv days 1 and 8 of 28-day cycles (adjuvant breast); methotrexate "
             "and 5-fluorouracil not modelled",
             _cycles(28.0, (0.0, 7.0), (("cyclophosphamide", 600.0, "mg/m**2", "intravenous"),)), 6),
    Protocol("FEC100", "cyclophosphamide 500 mg/m2 + epirubicin 100 mg/m2 iv, day 1 of 21-day cycles (Berliere 2008, "
             "evidence sheet); epirubicin counted as doxorubicin mg for mg (an assumption); 5-fluorouracil not "
             "modelled",
             _cycles(21.0, (0.0,), (("doxorubicin", 100.0, "mg/m**2", "intravenous"),
                                    ("cyclophosphamide", 500.0, "mg/m**2", "intravenous"))), 6),
    Protocol("ABVD", "doxorubicin 25 mg/m2 iv days 1 and 15 of 28-day cycles (Hodgkin lymphoma); bleomycin, "
             "vinblastine and dacarbazine not modelled (their toxicity is lumped into doxorubicin's calibrated "
             "growing-follicle kill)",
             _cycles(28.0, (0.0, 14.0), (("doxorubicin", 25.0, "mg/m**2", "intravenous"),)), 6),
    Protocol("CY200", "cyclophosphamide 50 mg/kg iv on 4 days (200 mg/kg; conditioning for aplastic anaemia)",
             _cycles(1.0, (0.0,), (("cyclophosphamide", 50.0, "mg/kg", "intravenous"),)), 4),
    Protocol("BuCy", "busulfan 4 mg/kg/day orally on 4 days (16 mg/kg), then cyclophosphamide 60 mg/kg iv on 2 days "
             "(120 mg/kg; myeloablative conditioning); cycles is ignored", _bucy, 1),
    Protocol("daily_oral_CY", "cyclophosphamide 100 mg/day orally, continuous (Koyama 1977, evidence sheet); "
             "cycles = days", _daily("cyclophosphamide", 100.0, "mg", "oral"), 365),
)}
"""The protocols by name."""


def protocol(name: str, cycles: int | None = None, start: float = 0.0) -> list[Dose]:
    """The regimen of a named protocol.

    Parameters
    ----------
    name : str
        A key of :data:`PROTOCOLS`.
    cycles : int, optional
        Number of cycles (days for a continuous protocol); default: the usual course.
    start : float
        Day of the first dose.

    Returns
    -------
    list of Dose
    """
    if name not in PROTOCOLS:
        raise DosingError(f"unknown chemotherapy protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    p = PROTOCOLS[name]
    n = p.default_cycles if cycles is None else int(cycles)
    if n < 1:
        raise DosingError(f"protocol {name!r}: cycles must be >= 1 (got {cycles!r})")
    return [Dose(d.time + start, d.agent, d.amount, d.unit, d.route) for d in p.doses(n)]
