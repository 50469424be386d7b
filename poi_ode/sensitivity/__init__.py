"""Sensitivity analysis of the model.

- :mod:`.local`: forward sensitivity equations derived from the symbolic model, for states
  and outputs (:func:`forward`, :class:`Sensitivities`); normalised sensitivity of any endpoint
  to every parameter (:func:`endpoint_sensitivity`); the Fisher information of a fit problem
  (:func:`fisher_information`, :class:`FisherInformation`).
- :mod:`.gsa`: global sensitivity of endpoints over the parameter bounds, Morris screening
  and Sobol' indices (:func:`morris`, :func:`sobol`, :class:`GlobalSensitivity`; needs the
  ``gsa`` extra, SALib, imported only when called).
- :mod:`.example`: the worked example of docs/sensitivity.md, run and written as a generated
  page (:func:`write_worked_example`; ``poi-ode sensitivity-example``).
"""
from .example import WorkedExample, example_markdown, run_worked_example, write_worked_example
from .gsa import GlobalSensitivity, morris, sobol
from .local import (
    FisherInformation,
    Sensitivities,
    endpoint_sensitivity,
    fisher_information,
    forward,
)

__all__ = [
    "FisherInformation",
    "GlobalSensitivity",
    "Sensitivities",
    "WorkedExample",
    "endpoint_sensitivity",
    "example_markdown",
    "fisher_information",
    "forward",
    "morris",
    "run_worked_example",
    "sobol",
    "write_worked_example",
]
