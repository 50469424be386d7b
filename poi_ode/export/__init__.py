"""Exports of the model: equation pages (SBML and PEtab come later)."""
from .equations import equations_markdown

__all__ = ["equations_markdown"]
