"""Model-based meta-analysis: preclinical designs as simulable arms, and pooled effects."""
# designs
from .designs import (
    DEFAULTS,
    Design,
    DesignDefault,
    DesignError,
    Simulability,
    load_designs,
    simulable,
)

__all__ = [
    # designs
    "Design", "DesignDefault", "DesignError", "DEFAULTS", "Simulability", "load_designs", "simulable",
]
