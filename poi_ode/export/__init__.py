"""Exports of the model: equation pages, SBML (extra ``sbml``), and verification against libRoadRunner."""
from .equations import equations_markdown
from .sbml import to_sbml

__all__ = ["equations_markdown", "to_sbml"]
