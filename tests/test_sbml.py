"""SBML export, cross-checked against libRoadRunner (the 'sbml' test extra)."""
from __future__ import annotations

import pytest

import poi_ode as po
from poi_ode.export.sbml import formula, to_sbml
from poi_ode.export.verify import SCENARIOS, max_relative_error

roadrunner = pytest.importorskip("roadrunner", reason="libroadrunner (extra 'sbml') is not installed")
pytest.importorskip("libsbml", reason="python-libsbml (extra 'sbml') is not installed")

@pytest.mark.parametrize("method", ["rodas", "LSODA"])
@pytest.mark.parametrize("scenario", ["healthy", "insult", "msc", "exosome"])
def test_roadrunner_agrees_with_simulate(species_model, scenario, method):
    """Both of our engines (compiled RODAS4, scipy LSODA) against libRoadRunner on the export."""
    regimen = SCENARIOS(species_model.species)[scenario]
    error, where = max_relative_error(species_model, regimen, method)
    assert error < 1e-5, where


def test_formula_printing():
    x, k = po.model.sym("x"), po.model.sym("k")
    assert formula(sympy_log2() * x / k) in ("ln(2)*x/k", "x*ln(2)/k")
    assert formula(x**2) == "(x)^(2)"


def sympy_log2():
    import sympy as sp

    return sp.log(2)


def test_unsupported_construct_is_named():
    import sympy as sp

    x, k = po.model.sym("x"), po.model.sym("k")
    with pytest.raises(po.ModelError, match="sin"):
        formula(sp.sin(k) * x)


def test_exported_document_is_valid_sbml(human):
    import libsbml

    doc = libsbml.readSBMLFromString(to_sbml(human, SCENARIOS("human")["msc"]))
    doc.checkConsistency()
    errors = [doc.getError(i).getMessage() for i in range(doc.getNumErrors())
              if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    assert not errors, errors[:3]
    m = doc.getModel()
    assert m.getNumSpecies() == len(human.states)
    assert m.getNumReactions() == len(human.flows)
    assert m.getNumEvents() == 2  # doses after day 0 (the day-0 dose is in the initial amounts)
