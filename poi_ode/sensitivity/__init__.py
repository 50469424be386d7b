"""Sensitivity analysis of the model.

- :mod:`.local`: forward sensitivity equations derived from the symbolic model
  (:func:`forward`, :class:`Sensitivities`).
"""
from .local import Sensitivities, forward

__all__ = ["forward", "Sensitivities"]
