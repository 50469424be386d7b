"""The datasets shipped with poi_ode (``poi_ode/data/bundled``): :func:`list_datasets`, :func:`load_dataset`."""
from __future__ import annotations

from pathlib import Path

from .reading import Dataset, read_dataset
from .schema import DatasetError, Problem

BUNDLED = Path(__file__).parent / "bundled"


def list_datasets() -> list[str]:
    """Names of the bundled published datasets.

    Every ``*.csv`` of the bundled folder except the converters' ledgers of skipped rows
    (``*_skipped.csv``), which record what was left out and why, and the design tables
    (``*_designs.csv``, read by :func:`poi_ode.mbma.load_designs`), which describe studies, not
    observations: neither is a dataset.
    """
    return sorted(p.stem for p in BUNDLED.glob("*.csv") if not p.stem.endswith(("_skipped", "_designs")))


def load_dataset(name: str) -> Dataset:
    """A bundled dataset by name (see :func:`list_datasets`), with every provenance column."""
    path = BUNDLED / f"{name}.csv"
    if not path.exists() or name not in list_datasets():
        raise DatasetError([Problem(None, None, f"no bundled dataset {name!r}; bundled: {', '.join(list_datasets())}")],
                           name)
    return read_dataset(path, name)
