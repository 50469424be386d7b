"""SBML Level 3 export of a composed model, its parameter values, initial state and doses.

Every state becomes a species (amount in a unit compartment), every flow a reaction with
its rate as kinetic law, every assignment an assignment rule, every parameter a constant
SBML parameter in the model's declared unit (per day), and every dose after day 0 an event
that adds the converted amount (doses at day 0 are folded into the initial amounts). Needs
python-libsbml (extra ``sbml``).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import sympy as sp
from sympy.printing.str import StrPrinter

from ..errors import ModelError, PoiOdeError

if TYPE_CHECKING:  # pragma: no cover
    from ..dosing import Dose, Regimen
    from ..model.core import Model
    from ..parameters import ParameterSet

__all__ = ["to_sbml", "formula"]

_ALLOWED_FUNCTIONS = {sp.exp: "exp", sp.log: "ln"}


class _L3Printer(StrPrinter):
    """SBML L3 infix formulas: ``^`` for powers, ``ln`` for natural logarithms."""

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        if exp == -1:
            return f"1/({self._print(base)})"
        return f"({self._print(base)})^({self._print(exp)})"

    def _print_Function(self, expr):
        name = _ALLOWED_FUNCTIONS.get(expr.func)
        if name is None:
            raise ModelError(f"SBML export: the function {expr.func.__name__!r} is not supported (in {expr})")
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    _print_exp = _print_Function
    _print_log = _print_Function

    def _print_Rational(self, expr):
        return f"({expr.p}/{expr.q})"

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Piecewise(self, expr):
        raise ModelError(f"SBML export: piecewise expressions are not supported ({expr})")

    def emptyPrinter(self, expr):  # noqa: N802 - sympy's name
        raise ModelError(f"SBML export: the construct {type(expr).__name__} is not supported ({expr})")


_SUPPORTED = (sp.Add, sp.Mul, sp.Pow, sp.Symbol, sp.Number, sp.NumberSymbol, sp.exp, sp.log)


def formula(expr: sp.Expr) -> str:
    """An SBML L3 infix formula for ``expr`` (time is ``time``).

    Raises
    ------
    ModelError
        Naming the first construct SBML export does not support (for example ``Max``).
    """
    for node in sp.preorder_traversal(expr):
        if not isinstance(node, _SUPPORTED):
            raise ModelError(f"SBML export: the construct {type(node).__name__} is not supported (in {expr})")
    text = _L3Printer().doprint(expr)
    return re.sub(r"\bt\b", "time", text)


def _libsbml():
    try:
        import libsbml
    except ImportError:
        raise PoiOdeError("SBML export needs python-libsbml: pip install 'poi_ode[sbml]'") from None
    return libsbml


def _check(code: int, what: str) -> None:
    libsbml = _libsbml()
    if code != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise PoiOdeError(f"SBML export: {what} failed ({libsbml.OperationReturnValue_toString(code)})")


def _math(text: str, where: str):
    libsbml = _libsbml()
    node = libsbml.parseL3Formula(text)
    if node is None:
        raise ModelError(f"SBML export: cannot express {where}: {libsbml.getLastParseL3Error()}")
    return node


def add_dose_event(sbml_model, event_id: str, time: float, increments: Mapping[str, str]) -> None:
    """An SBML event at ``time`` adding each formula of ``increments`` to its species."""
    ev = sbml_model.createEvent()
    ev.setId(event_id)
    ev.setUseValuesFromTriggerTime(True)
    trig = ev.createTrigger()
    trig.setInitialValue(False)
    trig.setPersistent(True)
    trig.setMath(_math(f"time >= {time!r}", f"dose at day {time}"))
    for name, amount in increments.items():
        ea = ev.createEventAssignment()
        ea.setVariable(name)
        ea.setMath(_math(f"{name} + {amount}", f"dose of {name} at day {time}"))


def to_sbml(
    model: "Model",
    regimen: "Regimen | Sequence[Dose] | None" = None,
    params: "ParameterSet | Mapping[str, Any] | None" = None,
    initial: Any = "healthy",
    age: float | None = None,
) -> str:
    """SBML Level 3 Version 2 text of ``model`` with parameter values, initial state and doses.

    Parameters
    ----------
    model : Model
        With its parameter set.
    regimen : Regimen, optional
        Doses after day 0 become SBML events; day-0 doses are added to the initial amounts.
    params, initial, age
        As in :func:`poi_ode.simulate`.
    """
    from ..dosing import as_regimen
    from ..simulate import initial_state, resolve_parameters

    libsbml = _libsbml()
    pset = resolve_parameters(model, params)
    p = pset.vector(model)
    y0 = initial_state(model, initial, pset, age).copy()
    doses = as_regimen(regimen).resolve(model, p)
    for d in doses:
        if d.time == 0.0:
            y0[d.state] += d.amount

    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId(re.sub(r"\W", "_", f"poi_ode_{model.name}"))
    m.setName(f"poi_ode {model.name} model ({', '.join(mod.name for mod in model.modules)}); time in days")
    comp = m.createCompartment()
    comp.setId("body")
    comp.setConstant(True)
    comp.setSize(1.0)
    comp.setSpatialDimensions(3)

    for decl, value in zip(model.parameters, p):
        par = m.createParameter()
        par.setId(decl.name)
        par.setValue(float(value))
        par.setConstant(True)
        par.setName(f"{decl.description} [{decl.unit}]")
    for state, value in zip(model.states, y0):
        s = m.createSpecies()
        s.setId(state.name)
        s.setName(f"{state.description} [{state.unit}]")
        s.setCompartment("body")
        s.setInitialAmount(float(value))
        s.setHasOnlySubstanceUnits(True)
        s.setBoundaryCondition(False)
        s.setConstant(False)
    for a in model.assignments:
        par = m.createParameter()
        par.setId(a.name)
        par.setConstant(False)
        par.setName(f"{a.description} [{a.unit}]")
        rule = m.createAssignmentRule()
        rule.setVariable(a.name)
        rule.setMath(_math(formula(a.expr), f"assignment {a.name!r}"))
    for k, f in enumerate(model.flows):
        r = m.createReaction()
        r.setId(f"flow_{k}")
        r.setName(f"{f.description} ({f.module})")
        r.setReversible(False)
        if f.source is not None:
            ref = r.createReactant()
            ref.setSpecies(f.source)
            ref.setStoichiometry(1.0)
            ref.setConstant(True)
        if f.target is not None:
            ref = r.createProduct()
            ref.setSpecies(f.target)
            ref.setStoichiometry(1.0)
            ref.setConstant(True)
        # every other species the rate reads is a modifier (SBML requires it to be declared)
        for name in sorted({sym.name for sym in f.rate.free_symbols} & set(model.state_names) - {f.source, f.target}):
            mod = r.createModifier()
            mod.setSpecies(name)
        law = r.createKineticLaw()
        law.setMath(_math(formula(f.rate), f"flow '{f.description}'"))
    for k, t in enumerate(sorted({d.time for d in doses if d.time > 0})):
        totals: dict[int, float] = {}
        for d in doses:
            if d.time == t:
                totals[d.state] = totals.get(d.state, 0.0) + d.amount
        add_dose_event(m, f"dose_{k}", t, {model.states[i].name: repr(a) for i, a in totals.items()})
    errors = doc.checkInternalConsistency()
    if errors:
        raise PoiOdeError(f"SBML export: {doc.getError(0).getMessage().strip()}")
    return libsbml.writeSBMLToString(doc)
