"""Datasets: a tidy, validated format for published and users' own AMH/FSH/... observations.

One row per observation. Required columns: ``study_id, arm, species, time_days, analyte,
statistic, value, unit``. Optional: ``subject, n, spread_type, spread, censored`` (the
observation), ``reference_arm`` (for values relative to another arm: unit ``%`` or ``fold``),
``regimen, initial, age_years`` (how to simulate the arm), and provenance
(``citation, doi_or_pmcid, source_location, confidence, notes, digitised``, plus any other
column, which is kept as it is). See ``docs/data.md``.

Two time axes: an arm is either on the **day axis** (``time_days`` given on every row, days
since the arm's first dose; ``age_years`` is the age at day 0, the same on every row) or on the
**age axis** (``time_days`` blank and ``age_years`` given on every row: cross-sectional
natural-history data, the untreated course observed at that age; no regimen). The harmonised
frame says which in its ``axis`` column (``"day"`` or ``"age"``); :func:`is_age_axis` tells it
for the rows of one arm.

:func:`read_dataset` validates everything at once and raises :class:`DatasetError` listing
every problem with its file, row and column; nothing is dropped or coerced silently. Values
are harmonised to standard units per analyte (``value_std``, ``spread_std``, ``unit_std``)
while the original columns stay untouched. A value in a concentration unit that does not
convert to the analyte's standard unit (mouse FSH in mIU/mL where the model has ng/mL), or in
arbitrary units (``AU``, ``OD``...), is kept on its own assay scale (``unit_std`` = the unit as
given); a fit then estimates an assay scale factor for it. Relative values (``%``, ``fold``
with a ``reference_arm``) are harmonised to ``fold``.

Values, times, ages and doses beyond what any real study reports (a sampling day beyond the
species' lifespan, a dose two orders of magnitude above the largest published one, a hormone
level far above any assay's range) are refused; the limits are the named constants of
:mod:`poi_ode.data.plausibility`. Every dose of a regimen is checked against the agents, routes
and units of the species' model.

The code is in modules named for what they do: :mod:`~poi_ode.data.schema` (columns, cells, regimens),
:mod:`~poi_ode.data.analytes` (analytes and units), :mod:`~poi_ode.data.checks` (validation),
:mod:`~poi_ode.data.reading` (:func:`read_dataset`, :class:`Dataset`), :mod:`~poi_ode.data.catalogue` (the
shipped datasets), :mod:`~poi_ode.data.digitized` (:func:`read_digitized`), :mod:`~poi_ode.data.pooled`
(:func:`read_pooled_effects`: summary-level effects of meta-analyses, a data kind of its own); this file only
re-exports them.
"""
from . import plausibility
from .analytes import (
    ANALYTES,
    ARBITRARY_UNITS,
    RELATIVE_UNITS,
    Analyte,
    analyte_factor,
    analyte_name,
    harmonise_unit,
    per_ovary,
    relative_factor,
    standard_unit,
)
from .catalogue import BUNDLED, DATASET_KINDS, dataset_kinds, list_datasets, load_dataset, load_pooled_effects
from .checks import is_age_axis, validate
from .digitized import read_digitized
from .pooled import (
    MEASURES,
    POOLED_ANALYTES,
    POOLED_COLUMNS,
    POOLED_REQUIRED,
    POOLING,
    SUBGROUP_KINDS,
    PooledEffectsError,
    is_pooled_effects,
    read_pooled_effects,
)
from .reading import MAX_FILE_BYTES, Dataset, iter_arms, provenance_columns, read_dataset
from .schema import (
    ARM,
    CENSORING,
    OBSERVATION,
    PROVENANCE,
    RELATIVE,
    REQUIRED,
    SPECIES,
    SPREAD_TYPES,
    STATISTICS,
    DatasetError,
    Problem,
    parse_interval,
    parse_regimen,
    to_float,
)

__all__ = [
    "DatasetError",
    "Problem",
    "Dataset",
    "ANALYTES",
    "read_dataset",
    "validate",
    "list_datasets",
    "load_dataset",
    "dataset_kinds",
    "load_pooled_effects",
    "read_pooled_effects",
    "PooledEffectsError",
    "read_digitized",
    "parse_regimen",
    "is_age_axis",
    "harmonise_unit",
    "RELATIVE_UNITS",
    "ARBITRARY_UNITS",
]
