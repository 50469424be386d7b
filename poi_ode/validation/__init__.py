"""Validation of the untreated natural history against published data (issue 10).

``poi-ode validate --out DIR`` writes ``DIR/validation.md`` and ``DIR/validation.csv``; the
committed page is ``docs/validation.md``. Published numbers come from the bundled
``targets.csv``, built by code from the team's evidence sheet (:func:`build_targets`).
"""
from __future__ import annotations

from .checks import COLUMNS, Check, final_menstrual_period, run_checks
from .page import validation_markdown, write_validation
from .targets import build_targets, load_targets

__all__ = ["Check", "COLUMNS", "run_checks", "write_validation", "validation_markdown", "build_targets",
           "load_targets", "final_menstrual_period"]
