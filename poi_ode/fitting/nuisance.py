"""Free parameters of a fit that are not model parameters (likelihood or nuisance parameters)."""
from __future__ import annotations

__all__ = ["NUISANCE_PREFIXES", "is_nuisance"]

NUISANCE_PREFIXES = ("scale_", "cv_")
"""Prefixes of free parameters that are not model parameters: assay scales (``scale_<analyte>``) and the
within-group spreads of summary-level evidence (``cv_<analyte>``)."""


def is_nuisance(name: str) -> bool:
    """Whether a free parameter is a likelihood (nuisance) parameter rather than a model parameter."""
    return name.startswith(NUISANCE_PREFIXES)
