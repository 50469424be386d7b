"""Exports of the model: equation pages, SBML (extra ``sbml``), PEtab problems and their import
back (extra ``petab``), and verification against libRoadRunner."""
from .equations import equations_markdown
from .petab import PetabProblem, from_petab, to_petab
from .sbml import to_sbml

__all__ = ["equations_markdown", "to_sbml", "to_petab", "from_petab", "PetabProblem"]
