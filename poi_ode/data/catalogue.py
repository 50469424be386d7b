"""The datasets shipped with poi_ode (``poi_ode/data/bundled``): :func:`list_datasets`, :func:`load_dataset`,
:func:`load_pooled_effects`.

A bundled CSV is of one of two kinds, told apart by its header: ``"observations"`` (the tidy
format of :func:`~poi_ode.data.read_dataset`, one row per observation) or ``"pooled_effects"``
(summary-level effects of meta-analyses, :func:`~poi_ode.data.read_pooled_effects`; a header with
``effect_id`` and ``measure``). :func:`load_dataset` loads the first kind and refuses the second
with a message naming :func:`load_pooled_effects`, so that a pooled table never enters a fit as
observations by mistake.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from .pooled import is_pooled_effects, read_pooled_effects
from .reading import Dataset, read_dataset
from .schema import DatasetError, Problem

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

BUNDLED = Path(__file__).parent / "bundled"

#: the kinds of bundled dataset
DATASET_KINDS = ("observations", "pooled_effects")


def _kind(path: Path) -> str:
    with path.open(newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), [])
    return "pooled_effects" if is_pooled_effects(header) else "observations"


def dataset_kinds() -> dict[str, str]:
    """Every bundled dataset's name and kind (``"observations"`` or ``"pooled_effects"``), sorted by name."""
    return {p.stem: _kind(p) for p in sorted(BUNDLED.glob("*.csv")) if not p.stem.endswith(("_skipped", "_designs"))}


def list_datasets(kind: str | None = None) -> list[str]:
    """Names of the bundled published datasets, of every kind or of one.

    Every ``*.csv`` of the bundled folder except the converters' ledgers of skipped rows
    (``*_skipped.csv``), which record what was left out and why, and the design tables
    (``*_designs.csv``, read by :func:`poi_ode.mbma.load_designs`), which describe studies, not
    observations: neither is a dataset.

    Parameters
    ----------
    kind : str, optional
        ``"observations"`` (load with :func:`load_dataset`) or ``"pooled_effects"`` (load with
        :func:`load_pooled_effects`); default: both. :func:`dataset_kinds` gives each name's kind.

    Raises
    ------
    DatasetError
        If ``kind`` is not one of :data:`DATASET_KINDS`.
    """
    if kind is not None and kind not in DATASET_KINDS:
        raise DatasetError([Problem(None, None, f"kind {kind!r} is not one of {', '.join(DATASET_KINDS)}")],
                           "list_datasets")
    return sorted(name for name, k in dataset_kinds().items() if kind is None or k == kind)


def _path(name: str) -> Path:
    if name not in dataset_kinds():
        raise DatasetError([Problem(None, None, f"no bundled dataset {name!r}; bundled: {', '.join(list_datasets())}")],
                           name)
    return BUNDLED / f"{name}.csv"


def load_dataset(name: str) -> Dataset:
    """A bundled dataset of observations by name (see :func:`list_datasets`), with every provenance column.

    Raises
    ------
    DatasetError
        If there is no such dataset, or it is a pooled-effects table (load it with
        :func:`load_pooled_effects`).
    """
    path = _path(name)
    if _kind(path) == "pooled_effects":
        raise DatasetError([Problem(None, None, f"{name!r} is a table of pooled effects (meta-analysis results), not "
                                                "observations: load it with poi_ode.data.load_pooled_effects"
                                                f"({name!r})")], name)
    return read_dataset(path, name)


def load_pooled_effects(name: str) -> "pd.DataFrame":
    """A bundled table of pooled effects by name (``list_datasets(kind="pooled_effects")``), validated.

    Returns
    -------
    pandas.DataFrame
        As :func:`~poi_ode.data.read_pooled_effects` returns it.

    Raises
    ------
    DatasetError
        If there is no such dataset, or it is a dataset of observations (load it with :func:`load_dataset`).
    """
    path = _path(name)
    if _kind(path) != "pooled_effects":
        raise DatasetError([Problem(None, None, f"{name!r} is a dataset of observations, not pooled effects: load it "
                                                f"with poi_ode.data.load_dataset({name!r})")], name)
    return read_pooled_effects(path, name)
