"""Model-based meta-analysis: published pooled effects as calibration targets of the therapy.

The code is in modules named for what they do: :mod:`~poi_ode.mbma.pooling` (fixed- and random-effects
pooling, standardised mean differences and their variances), :mod:`~poi_ode.mbma.designs` (the catalogued
preclinical designs as simulable arms), :mod:`~poi_ode.mbma.objective` (the meta-analytic objective),
:mod:`~poi_ode.mbma.calibration` (fits and mechanism comparison), :mod:`~poi_ode.mbma.report`
(``poi-ode evidence``) and :mod:`~poi_ode.mbma.translation` (the calibrated values carried over to women); this
file only re-exports them.
"""
from .calibration import (
    HELD_OUT_KINDS,
    MECHANISM_FREE,
    MechanismFit,
    calibrate,
    compare_mechanisms,
    evidence_objective,
    prediction_band,
)
from .designs import (
    DEFAULTS,
    Design,
    DesignDefault,
    DesignError,
    Simulability,
    load_designs,
    simulable,
)
from .objective import (
    ANALYTE_VARIABLES,
    CALIBRATION_KINDS,
    SPREAD_PRIOR,
    EffectTarget,
    EvidenceObjective,
    build_targets,
    control_parameters,
    member_designs,
    study_effect,
)
from .plots import plot_forest
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
from .report import run_evidence
from .translation import Translation, translate_therapy, translation_table, write_translation

__all__ = [
    # pooling
    "Pooled", "smd_variance", "hedges_correction", "pool_fixed", "pool_random", "tau2_from_I2", "se_from_ci",
    "RANDOM_METHODS",
    # designs
    "Design", "DesignDefault", "DesignError", "DEFAULTS", "Simulability", "load_designs", "simulable",
    # objective
    "EffectTarget", "EvidenceObjective", "build_targets", "member_designs", "study_effect", "control_parameters",
    "SPREAD_PRIOR", "ANALYTE_VARIABLES", "CALIBRATION_KINDS",
    # calibration and report
    "evidence_objective", "calibrate", "prediction_band", "compare_mechanisms", "MechanismFit", "MECHANISM_FREE",
    "HELD_OUT_KINDS", "run_evidence", "plot_forest",
    # translation to women
    "Translation", "translate_therapy", "translation_table", "write_translation",
]
