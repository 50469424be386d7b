"""Plausibility limits of a dataset: what no real study of the species can report.

:func:`poi_ode.read_dataset` refuses a row beyond one of these limits, naming the row, the
column and the limit, because such a number is a typing or export error (a time in seconds
given as days, a dose in ug given as mg/kg, an exponent lost in a spreadsheet), and fitting it
would fail or, worse, succeed. The limits are deliberately generous: each lies well beyond the
largest value published, so that no real observation is refused; they catch errors of orders
of magnitude, not unusual studies.

Every limit is a named constant whose comment or docstring gives its source or reason.
"""
from __future__ import annotations

from ..errors import UnitError
from ..units import conversion_factor

__all__ = [
    "LIFESPAN_YEARS",
    "DAYS_PER_YEAR",
    "MAX_PUBLISHED_DOSE",
    "IMPLAUSIBLE_DOSE_FACTOR",
    "MAX_VALUE",
    "MAX_RELATIVE",
    "max_days",
    "dose_limit",
    "value_limit",
]

DAYS_PER_YEAR = 365.25

LIFESPAN_YEARS: dict[str, float] = {
    # Jeanne Calment, 122 years 164 days: the longest documented human life
    # (Robine & Allard 1998, Science 279:1834).
    "human": 122.5,
    # The longest-lived laboratory mice (long-lived mutants such as the GH-receptor knockout
    # that won the Methuselah Mouse Prize) lived just under 5 years (about 1,800 days).
    "mouse": 5.0,
    # Laboratory rats, even under caloric restriction, rarely pass 4 years; 5 years is beyond
    # any laboratory rat reported.
    "rat": 5.0,
}
"""Longest documented life per species (years). A sampling day, dose day or age beyond it
cannot belong to a real observation of one animal or woman."""

IMPLAUSIBLE_DOSE_FACTOR = 100.0
"""A dose more than this many times (two orders of magnitude) the largest published dose of its
agent per administration is refused: a unit or exponent error, not a study design."""

MAX_PUBLISHED_DOSE: dict[str, dict[str, float]] = {
    # Cyclophosphamide. mg/kg: single i.p. doses of 300-400 mg/kg are the top of mouse
    # ovotoxicity and lethality studies (the i.p. LD50 in mice is of that order); human
    # conditioning gives 60 mg/kg per day. mg/m2: 7 g/m2, the high-dose cyclophosphamide of
    # stem-cell mobilisation (Gianni et al. 1989, Lancet 2:580).
    "cyclophosphamide": {"mg/kg": 400.0, "mg/m**2": 7000.0},
    # Busulfan. mg/kg: 40 mg/kg i.p., the top of the rodent gonadotoxicity models (20-40 mg/kg).
    # mg/m2: once-daily intravenous busulfan of human conditioning, 130 mg/m2 per day.
    "busulfan": {"mg/kg": 40.0, "mg/m**2": 130.0},
    # Cisplatin. mg/kg: 20 mg/kg, the single dose of mouse nephrotoxicity models (POI models use
    # 2-7.5 mg/kg). mg/m2: 200 mg/m2 per cycle, the top of high-dose human regimens.
    "cisplatin": {"mg/kg": 20.0, "mg/m**2": 200.0},
    # Doxorubicin. mg/kg: 20 mg/kg i.p., the top of single-dose rodent cardio- and ovotoxicity
    # models (5-20 mg/kg). mg/m2: 90 mg/m2 per cycle, above the usual 60-75 mg/m2 (AC, ABVD 25 x 2).
    "doxorubicin": {"mg/kg": 20.0, "mg/m**2": 90.0},
    # MSCs: about 1e9 cells per administration, the top of human trials (up to ~10e6 cells/kg in
    # an adult); rodent studies give 1e5-1e7 cells.
    "msc": {"cells": 1e9},
    # Exosomes / extracellular vesicles: rodent studies give 10-200 ug protein or 1e9-1e12
    # particles per administration; 10 mg and 1e13 particles are above any preclinical or
    # clinical dose the evidence sheets list.
    "exosome": {"ug": 1e4, "particles": 1e13},
}
"""Largest published dose per administration of each agent, in each unit family it is given in
(the sources are in the comments). A unit convertible to one of these (g/kg, million_cells,
mg) is compared after conversion; others are left to the model's unit check."""

MAX_VALUE: dict[tuple[str, str], float] = {
    # AMH: automated assays report up to ~23 ng/mL undiluted (Roche Elecsys: 0.01-23 ng/mL);
    # granulosa-cell tumours and PCOS reach tens, rarely a few hundred, ng/mL. 1000 ng/mL is
    # beyond any of them.
    ("AMH", "ng/mL"): 1000.0,
    # FSH: immunoassays report up to 200 IU/L (Elecsys 0.1-200 mIU/mL); castrate and
    # postmenopausal levels are 30-150 IU/L. 10x the top of the range.
    ("FSH", "IU/L"): 2000.0,
    # Mouse and rat FSH (RIA, ng/mL): ovariectomised rodents reach tens of ng/mL, at most ~100.
    ("FSH", "ng/mL"): 2000.0,
    # LH, as FSH: assays report up to ~200 IU/L; the mid-cycle surge reaches ~100 IU/L.
    ("LH", "IU/L"): 2000.0,
    # Estradiol: late pregnancy reaches ~40,000 pg/mL, the highest physiological level.
    ("E2", "pg/mL"): 100_000.0,
    # Inhibin B: assays report up to a few thousand pg/mL; granulosa-cell tumours are the highest.
    ("InhB", "pg/mL"): 100_000.0,
    # Follicle counts: the human fetal ovaries hold ~7 million follicles at their peak (20 weeks).
    ("primordial", "follicles"): 1e8,
    ("primordial", "follicles/ovary"): 1e8,
    ("primary", "follicles"): 1e8,
    ("primary", "follicles/ovary"): 1e8,
    ("secondary", "follicles"): 1e8,
    ("secondary", "follicles/ovary"): 1e8,
    ("antral", "follicles"): 1e8,
    ("antral", "follicles/ovary"): 1e8,
    # Antral follicle count by ultrasound: at most ~100 in polycystic ovaries.
    ("AFC", "follicles"): 1000.0,
    ("AFC", "follicles/ovary"): 1000.0,
    # Cytokines: the highest serum levels (septic shock, cytokine storm) reach ~1e5-1e6 pg/mL.
    ("TNF", "pg/mL"): 1e7,
    ("IL6", "pg/mL"): 1e7,
    ("IFNG", "pg/mL"): 1e7,
    ("IL10", "pg/mL"): 1e7,
    ("TGFB", "pg/mL"): 1e7,
}
"""Largest plausible value of each analyte in its harmonised unit (sources in the comments):
about ten times the top of any assay's reportable range or the highest value published."""

MAX_RELATIVE = 1e4
"""Largest plausible relative value (fold of the reference arm; 1e6 %): a ten-thousand-fold change
of a hormone or follicle count between two arms of one study is beyond any published effect."""


def max_days(species: str) -> float | None:
    """The longest documented life of ``species`` in days (None for an unknown species)."""
    years = LIFESPAN_YEARS.get(species)
    return None if years is None else years * DAYS_PER_YEAR


def dose_limit(agent: str, amount: float, unit: str) -> tuple[float, str] | None:
    """``(limit, unit)`` if ``amount`` ``unit`` of ``agent`` exceeds the implausible-dose limit.

    The limit is :data:`IMPLAUSIBLE_DOSE_FACTOR` times the largest published dose
    (:data:`MAX_PUBLISHED_DOSE`) in the first of its units that ``unit`` converts to. None if
    the dose is within the limit or cannot be compared (unknown agent or unit family).
    """
    for limit_unit, largest in MAX_PUBLISHED_DOSE.get(agent, {}).items():
        try:
            amount_there = amount * conversion_factor(unit, limit_unit)
        except UnitError:
            continue
        limit = largest * IMPLAUSIBLE_DOSE_FACTOR
        return (limit, limit_unit) if amount_there > limit else None
    return None


def value_limit(analyte: str, unit_std: str) -> float | None:
    """The largest plausible value of ``analyte`` in its harmonised unit (None: no limit known)."""
    if unit_std == "fold":
        return MAX_RELATIVE
    return MAX_VALUE.get((analyte, unit_std))
