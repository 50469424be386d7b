"""Columns of a data frame read as NumPy arrays or Python objects without building a pandas Series.

Used on the per-fit path (the problem set-up, the observation table, the arms of a dataset), where
building a Series per column was most of the cost of a small fit.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["column_objects", "column_values"]


def _converted(frame: "pd.DataFrame", name: str, dtype: Any) -> np.ndarray:
    """``frame[name].to_numpy(dtype=dtype)``, from the column's stored array where pandas gives it."""
    getter = getattr(frame, "_get_column_array", None)
    loc = frame.columns.get_loc(name) if getter is not None else None
    if getter is None or not isinstance(loc, int):  # (no such accessor, or a repeated name): through the Series
        return frame[name].to_numpy(dtype=dtype)
    values = getter(loc)  # (read only)
    return np.asarray(values, dtype=dtype) if isinstance(values, np.ndarray) else values.to_numpy(dtype=dtype)


def column_values(frame: "pd.DataFrame", name: str, dtype: Any = object) -> np.ndarray:
    """The values of column ``name`` as ``frame[name].to_numpy(dtype=dtype)`` gives them, as a new array.

    Converted from the column's stored array as ``Series.to_numpy`` converts it (``np.asarray`` of a
    NumPy array, ``to_numpy`` of an extension array), taken with ``DataFrame._get_column_array``
    where pandas has it, without building the Series (most of the cost of a column of a small
    frame); through the Series otherwise (a pandas without that method, a repeated column name).
    The same values and dtype either way (tested); always a copy, never the frame's memory.
    """
    return np.array(_converted(frame, name, dtype), copy=True)


def column_objects(frame: "pd.DataFrame", name: str) -> list[Any]:
    """The values of column ``name`` as Python objects: ``frame[name].to_numpy(dtype=object).tolist()``
    (see :func:`column_values`)."""
    return _converted(frame, name, object).tolist()
