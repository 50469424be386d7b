"""Model definition: the symbolic core and one file per biological module.

:func:`load_model` composes the default modules for a species and attaches its parameter
set; :func:`compose` builds a model from any modules, so a user can drop or replace one.

The composition is in :mod:`~poi_ode.model.build`; this file only re-exports.
"""
from .build import DEFAULT_MODULES, MODULE_BUILDERS, THERAPY_MECHANISMS, build_module, compose, load_model
from .core import Assignment, DoseTarget, Flow, Input, Model, Module, ParameterDecl, State, sym
from .insult import CHEMOTHERAPY_AGENTS

__all__ = [
    "Model",
    "Module",
    "State",
    "ParameterDecl",
    "Flow",
    "Assignment",
    "Input",
    "DoseTarget",
    "sym",
    "MODULE_BUILDERS",
    "DEFAULT_MODULES",
    "THERAPY_MECHANISMS",
    "build_module",
    "compose",
    "load_model",
    "CHEMOTHERAPY_AGENTS",
]
