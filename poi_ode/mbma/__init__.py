"""Model-based meta-analysis: summary-level effects (pooled effect sizes) as calibration targets.

The code is in modules named for what they do: :mod:`~poi_ode.mbma.pooling` (fixed- and random-effects
pooling, standardised mean differences and their variances); this file only re-exports them.
"""
# pooling
from .pooling import (
    RANDOM_METHODS,
    Pooled,
    hedges_correction,
    pool_fixed,
    pool_random,
    se_from_ci,
    smd_variance,
    tau2_from_I2,
)

__all__ = [
    # pooling
    "Pooled",
    "smd_variance",
    "hedges_correction",
    "pool_fixed",
    "pool_random",
    "tau2_from_I2",
    "se_from_ci",
    "RANDOM_METHODS",
]
