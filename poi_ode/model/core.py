"""Symbolic core: states, parameters, flows, modules and the composed :class:`Model`.

A module is a small compartmental model written with sympy.  Its states change only
through *flows*: non-negative rates that move an amount from one of the module's states
to another, or in from / out to outside the system.  Other modules are read through
named *inputs*, which carry a neutral default used when no module of the composition
provides them, so modules can be used alone, combined, or replaced.

Everything numeric (right-hand side, Jacobian, equation pages, exports) is derived from
these expressions; nothing is written twice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import sympy as sp

from ..errors import DosingError, ModelError, UnitError
from ..units import check_unit, dimensionality

if TYPE_CHECKING:  # pragma: no cover
    from ..compile import CompiledModel
    from ..parameters import ParameterSet

__all__ = [
    "sym",
    "TIME_UNIT",
    "State",
    "ParameterDecl",
    "Flow",
    "Assignment",
    "Input",
    "DoseTarget",
    "Module",
    "Model",
]

TIME_UNIT = "day"
"""Model time unit: every rate is per day."""

LN2 = sp.log(2)


def sym(name: str) -> sp.Symbol:
    """The one symbol for ``name`` used by every module (real, non-negative)."""
    return sp.Symbol(name, real=True, nonnegative=True)


class _Named:
    """Gives a declaration with a ``name`` its shared sympy symbol."""

    name: str

    @property
    def symbol(self) -> sp.Symbol:
        return sym(self.name)


@dataclass(frozen=True)
class State(_Named):
    """A state variable: an amount or level that flows change.

    Attributes
    ----------
    name, unit, description
        Identifier, unit string (see :mod:`poi_ode.units`) and one-line meaning.
    latex
        LaTeX name used on equation pages.
    module
        Name of the module that owns the state.
    """

    name: str
    unit: str
    description: str
    latex: str = ""
    module: str = ""


@dataclass(frozen=True)
class ParameterDecl(_Named):
    """Declaration of a parameter by a module: name, unit, meaning and structural domain.

    Values, bounds and sources are not here: they belong to a species parameter set
    (:mod:`poi_ode.parameters`).  ``domain`` is the range in which the equations make
    sense at all (for example ``(0, 1)`` for a fraction); set bounds must lie inside it.
    """

    name: str
    unit: str
    description: str
    latex: str = ""
    domain: tuple[float, float] = (0.0, float("inf"))
    module: str = ""


@dataclass(frozen=True)
class Flow:
    """A non-negative rate moving an amount from ``source`` to ``target``.

    ``None`` as source means production from outside the system (synthesis, dosing
    depots excluded); ``None`` as target means loss (clearance, death, elimination).
    The rate is in units of the state per day.
    """

    source: str | None
    target: str | None
    rate: sp.Expr
    description: str
    module: str = ""


@dataclass(frozen=True)
class Assignment(_Named):
    """A named intermediate expression (an SBML assignment rule), also reported as an output."""

    name: str
    expr: sp.Expr
    unit: str
    description: str
    latex: str = ""
    module: str = ""


@dataclass(frozen=True)
class Input:
    """A symbol a module reads from another module, with the neutral value used without it."""

    name: str
    default: sp.Expr
    unit: str
    description: str
    module: str = ""


@dataclass(frozen=True)
class DoseTarget:
    """Where a dose of ``agent`` given by ``route`` enters the model.

    The amount, converted to ``unit``, is multiplied by ``factor`` (a symbolic expression of
    parameters, 1 by default) and added to ``state``.  ``alternative_units`` maps a unit that
    cannot be converted physically (for example vesicle particles to µg protein, or mg/m²
    to mg/kg) to a symbolic factor into ``unit``.
    """

    agent: str
    route: str
    state: str
    unit: str
    factor: sp.Expr = sp.Integer(1)
    alternative_units: Mapping[str, sp.Expr] = field(default_factory=dict)
    default_route: bool = False
    module: str = ""


class Module:
    """A piece of the model that can be read, tested and replaced on its own.

    Build it with :meth:`state`, :meth:`param`, :meth:`input`, :meth:`assign`, :meth:`flow`
    and :meth:`dose`; each returns the sympy symbol to write equations with.

    Parameters
    ----------
    name : str
        Short identifier (``"msc"``, ``"follicles"``...).
    description : str
        What the module represents, one paragraph (used on the equation page).
    """

    def __init__(self, name: str, description: str) -> None:
        self.name = name
        self.description = description
        self.states: list[State] = []
        self.parameters: list[ParameterDecl] = []
        self.inputs: list[Input] = []
        self.assignments: list[Assignment] = []
        self.flows: list[Flow] = []
        self.dose_targets: list[DoseTarget] = []

    # -- builders ---------------------------------------------------------------------------
    def state(self, name: str, unit: str, description: str, latex: str = "") -> sp.Symbol:
        self.states.append(State(name, unit, description, latex or _latex_name(name), self.name))
        return sym(name)

    def param(
        self,
        name: str,
        unit: str,
        description: str,
        latex: str = "",
        domain: tuple[float, float] = (0.0, float("inf")),
    ) -> sp.Symbol:
        self.parameters.append(
            ParameterDecl(name, unit, description, latex or _latex_name(name), domain, self.name)
        )
        return sym(name)

    def half_life(self, name: str, unit: str, description: str, latex: str = "") -> sp.Expr:
        """Declare a half-life parameter and return the first-order rate constant ln2 / t½."""
        return LN2 / self.param(name, unit, description, latex)

    def input(self, name: str, default: sp.Expr | float, unit: str, description: str) -> sp.Symbol:
        self.inputs.append(Input(name, sp.sympify(default), unit, description, self.name))
        return sym(name)

    def assign(
        self, name: str, expr: sp.Expr, unit: str, description: str, latex: str = ""
    ) -> sp.Symbol:
        self.assignments.append(
            Assignment(name, sp.sympify(expr), unit, description, latex or _latex_name(name), self.name)
        )
        return sym(name)

    def flow(
        self, source: sp.Symbol | None, target: sp.Symbol | None, rate: sp.Expr, description: str
    ) -> None:
        src = None if source is None else str(source)
        dst = None if target is None else str(target)
        self.flows.append(Flow(src, dst, sp.sympify(rate), description, self.name))

    def dose(
        self,
        agent: str,
        route: str,
        state: sp.Symbol,
        unit: str,
        factor: sp.Expr | float = 1,
        alternative_units: Mapping[str, sp.Expr] | None = None,
        default_route: bool = False,
    ) -> None:
        self.dose_targets.append(
            DoseTarget(
                agent,
                route,
                str(state),
                unit,
                sp.sympify(factor),
                dict(alternative_units or {}),
                default_route,
                self.name,
            )
        )

    def __repr__(self) -> str:
        return f"Module({self.name!r}: {len(self.states)} states, {len(self.flows)} flows)"


def _latex_name(name: str) -> str:
    head, _, tail = name.partition("_")
    greek = {"Phi": r"\Phi", "phi": r"\phi", "tau": r"\tau"}
    head = greek.get(head, head if len(head) == 1 else rf"\mathrm{{{head}}}")
    if not tail:
        return head
    sub = tail.replace("_", r"\,")
    return rf"{head}_{{\mathrm{{{sub}}}}}"


class Model:
    """A composed, validated model.

    Parameters
    ----------
    modules : sequence of Module
        The pieces; their order fixes the state order.
    name : str
        A label (``"human"``, ``"mouse"``...).

    Raises
    ------
    ModelError
        On a name clash, a symbol no module defines, an unknown or inconsistent unit, a flow
        that leaks (an outflow that does not vanish when its source is empty), a flow between
        states of different units, or a dose target on a missing state.
    """

    def __init__(self, modules: Sequence[Module], name: str = "model") -> None:
        if not modules:
            raise ModelError("a model needs at least one module")
        self.name = name
        self.modules: tuple[Module, ...] = tuple(modules)
        self._collect()
        self._resolve_inputs()
        self._check_symbols()
        self._check_flows()
        self._check_units()
        self._check_doses()
        self.parameter_set: ParameterSet | None = None
        self._compiled: CompiledModel | None = None
        #: what a parameter set is checked and converted against (names, units, domains)
        self.parameter_signature = tuple((p.name, p.unit, tuple(p.domain)) for p in self.parameters)

    # -- parameters and compiled form ---------------------------------------------------------
    def attach(self, parameters) -> "Model":
        """Attach a :class:`~poi_ode.parameters.ParameterSet` after checking it fits the model."""
        parameters.check_against(self)
        self.parameter_set = parameters
        return self

    def require_parameter_set(self) -> "ParameterSet":
        """The attached parameter set.

        Returns
        -------
        ParameterSet
            The set attached by :meth:`attach` (:func:`~poi_ode.load_model` attaches one).

        Raises
        ------
        ModelError
            If no set is attached.
        """
        if self.parameter_set is None:
            raise ModelError(f"model {self.name!r} has no parameter set attached (load_model or Model.attach)")
        return self.parameter_set

    @property
    def species(self) -> str:
        return self.parameter_set.species if self.parameter_set is not None else self.name

    @property
    def compiled(self) -> "CompiledModel":
        """The numeric form (right-hand side, Jacobian, outputs), generated once and cached."""
        if self._compiled is None:
            from ..compile import compile_model

            self._compiled = compile_model(self)
        return self._compiled

    def __getstate__(self) -> dict[str, Any]:
        """The model without its numeric form, which the receiving process regenerates (from the on-disk cache):
        generated code does not pickle, and an objective holding models goes to worker processes."""
        state = self.__dict__.copy()
        state["_compiled"] = None
        return state

    # -- construction -----------------------------------------------------------------------
    def _collect(self) -> None:
        seen_modules: set[str] = set()
        for m in self.modules:
            if m.name in seen_modules:
                raise ModelError(f"module {m.name!r} appears twice in the composition")
            seen_modules.add(m.name)
        owner: dict[str, str] = {}

        def claim(name: str, kind: str, module: str) -> None:
            if name in owner:
                raise ModelError(
                    f"name clash: {kind} {name!r} of module {module!r} is already "
                    f"defined by {owner[name]}"
                )
            owner[name] = f"{kind} of module {module!r}"

        self.states: tuple[State, ...] = tuple(s for m in self.modules for s in m.states)
        self.assignments: tuple[Assignment, ...] = tuple(a for m in self.modules for a in m.assignments)
        for s in self.states:
            claim(s.name, "state", s.module)
        for a in self.assignments:
            claim(a.name, "assignment", a.module)
        params: dict[str, ParameterDecl] = {}
        for m in self.modules:
            for p in m.parameters:
                if p.name in params:
                    other = params[p.name]
                    if (other.unit, other.domain) != (p.unit, p.domain):
                        raise ModelError(
                            f"parameter {p.name!r} is declared by modules {other.module!r} "
                            f"({other.unit}, domain {other.domain}) and {p.module!r} "
                            f"({p.unit}, domain {p.domain}) differently"
                        )
                    continue
                if p.name in owner:
                    raise ModelError(
                        f"name clash: parameter {p.name!r} of module {p.module!r} is already "
                        f"defined as {owner[p.name]}"
                    )
                params[p.name] = p
        self.parameters: tuple[ParameterDecl, ...] = tuple(params.values())
        self.flows: tuple[Flow, ...] = tuple(f for m in self.modules for f in m.flows)
        self.dose_targets: tuple[DoseTarget, ...] = tuple(d for m in self.modules for d in m.dose_targets)
        self.state_names: tuple[str, ...] = tuple(s.name for s in self.states)
        self.parameter_names: tuple[str, ...] = tuple(p.name for p in self.parameters)
        self.index: dict[str, int] = {n: i for i, n in enumerate(self.state_names)}

    def _resolve_inputs(self) -> None:
        """Replace inputs no module provides by their neutral defaults."""
        provided = set(self.state_names) | {a.name for a in self.assignments}
        subs: dict[sp.Symbol, sp.Expr] = {}
        self.unresolved_inputs: tuple[Input, ...] = ()
        unresolved = []
        for m in self.modules:
            for inp in m.inputs:
                if inp.name in provided:
                    continue
                sym_ = sym(inp.name)
                if sym_ in subs and subs[sym_] != inp.default:
                    raise ModelError(
                        f"input {inp.name!r} has different defaults in different modules "
                        f"({subs[sym_]} and {inp.default} in {m.name!r})"
                    )
                subs[sym_] = inp.default
                unresolved.append(inp)
        self.unresolved_inputs = tuple(unresolved)
        if subs:
            self.assignments = tuple(
                Assignment(a.name, a.expr.xreplace(subs), a.unit, a.description, a.latex, a.module)
                for a in self.assignments
            )
            self.flows = tuple(  # a flow that vanishes without its input's provider is left out
                Flow(f.source, f.target, rate, f.description, f.module)
                for f in self.flows
                if (rate := f.rate.xreplace(subs)) != 0
            )

    def _check_symbols(self) -> None:
        known = (
            {s.symbol for s in self.states}
            | {p.symbol for p in self.parameters}
            | {a.symbol for a in self.assignments}
            | {sym("t")}
        )
        declared_inputs = {(i.module, i.name) for m in self.modules for i in m.inputs}
        for a in self.assignments:
            self._check_known(a.expr, known, f"assignment {a.name!r} of module {a.module!r}", declared_inputs, a.module)
        for f in self.flows:
            self._check_known(f.rate, known, f"flow '{f.description}' of module {f.module!r}", declared_inputs,
                              f.module)
        for d in self.dose_targets:
            exprs = [d.factor, *d.alternative_units.values()]
            for e in exprs:
                self._check_known(e, known, f"dose target {d.agent}/{d.route} of module {d.module!r}", declared_inputs,
                                  d.module)
        # assignments must be acyclic; order them so each uses only earlier ones
        by_name = {a.name: a for a in self.assignments}
        ordered: list[Assignment] = []
        visiting: set[str] = set()

        def visit(a: Assignment) -> None:
            if a in ordered:
                return
            if a.name in visiting:
                raise ModelError(f"assignment {a.name!r} depends on itself")
            visiting.add(a.name)
            for s in a.expr.free_symbols:
                if s.name in by_name:
                    visit(by_name[s.name])
            visiting.discard(a.name)
            ordered.append(a)

        for a in self.assignments:
            visit(a)
        self.assignments = tuple(ordered)

    @staticmethod
    def _check_known(expr: sp.Expr, known: set, where: str, declared_inputs: set, module: str) -> None:
        missing = sorted(s.name for s in expr.free_symbols if s not in known)
        if missing:
            hint = [
                m for m in missing if (module, m) not in declared_inputs
            ]
            reason = (
                f"{', '.join(repr(m) for m in hint)} is neither a state, a parameter, an "
                "assignment nor a declared input"
                if hint
                else "inputs without provider"
            )
            raise ModelError(f"{where} references undefined symbol(s) {missing}: {reason}")

    def _check_flows(self) -> None:
        states = {s.name: s for s in self.states}
        for f in self.flows:
            for end in (f.source, f.target):
                if end is not None and end not in states:
                    raise ModelError(f"flow '{f.description}' of module {f.module!r}: unknown state {end!r}")
                if end is not None and states[end].module != f.module:
                    raise ModelError(
                        f"flow '{f.description}' of module {f.module!r} moves state {end!r} of "
                        f"module {states[end].module!r}: a module may only move its own states"
                    )
            if f.source is None and f.target is None:
                raise ModelError(f"flow '{f.description}' of module {f.module!r} has neither source nor target")
            if f.source is not None and f.target is not None:
                u_src, u_dst = states[f.source].unit, states[f.target].unit
                if dimensionality(u_src) != dimensionality(u_dst):
                    raise ModelError(
                        f"flow '{f.description}' moves {f.source!r} ({u_src}) into {f.target!r} ({u_dst})"
                    )
            if f.source is not None:
                expanded = self.expand(f.rate)
                at_zero = sp.simplify(expanded.subs(sym(f.source), 0))
                if at_zero != 0:
                    raise ModelError(
                        f"flow '{f.description}' of module {f.module!r} leaks: its rate does not "
                        f"vanish when its source {f.source!r} is empty (rate at 0: {at_zero})"
                    )

    def _check_units(self) -> None:
        """Dimensional analysis of every assignment and flow rate, evaluated with pint.

        Each module is checked as written, its inputs carrying their declared units; an input
        that another module provides must have that module's unit.
        """
        from ..units import registry

        ureg = registry()
        units = {s.name: s.unit for s in self.states}
        units.update({p.name: p.unit for p in self.parameters})
        units.update({a.name: a.unit for a in self.assignments})
        units["t"] = TIME_UNIT
        for m in self.modules:
            for inp in m.inputs:
                if inp.name in units and dimensionality(units[inp.name]) != dimensionality(inp.unit):
                    raise ModelError(
                        f"module {m.name!r} reads {inp.name!r} in {inp.unit}, but it is provided in {units[inp.name]}"
                    )
        all_units = dict(units)
        for m in self.modules:
            for inp in m.inputs:
                all_units.setdefault(inp.name, inp.unit)
        for name, unit in all_units.items():
            try:
                check_unit(unit, f"unit of {name!r}")
            except UnitError as exc:
                raise ModelError(str(exc)) from None
        quantities = {n: ureg.Quantity(0.731, u.replace("µ", "u")) for n, u in all_units.items()}

        def evaluate(expr: sp.Expr, where: str):
            syms = sorted(expr.free_symbols, key=lambda s: s.name)
            fn = sp.lambdify(syms, expr, modules="numpy")
            try:
                return fn(*[quantities[s.name] for s in syms])
            except Exception as exc:
                raise ModelError(f"{where}: inconsistent units ({exc})") from None

        def same(value, unit: str, where: str) -> None:
            dim = getattr(value, "dimensionality", ureg.Quantity(1.0).dimensionality)
            if dim != dimensionality(unit):
                raise ModelError(f"{where}: has units of {dim}, declared {dimensionality(unit)} ({unit})")

        for m in self.modules:
            for a in m.assignments:
                where = f"assignment {a.name!r} of module {m.name!r}"
                same(evaluate(a.expr, where), a.unit, where)
            for inp in m.inputs:
                where = f"default of input {inp.name!r} of module {m.name!r}"
                if inp.default != 0:
                    same(evaluate(inp.default, where), inp.unit, where)
            for f in m.flows:
                where = f"flow '{f.description}' of module {m.name!r}"
                state_unit = units[f.source or f.target]  # type: ignore[index]
                same(evaluate(f.rate, where), f"({state_unit})/{TIME_UNIT}", where)

    def _check_doses(self) -> None:
        states = {s.name: s for s in self.states}
        seen: set[tuple[str, str]] = set()
        for d in self.dose_targets:
            if d.state not in states:
                raise ModelError(f"dose target {d.agent}/{d.route} names unknown state {d.state!r}")
            if (d.agent, d.route) in seen:
                raise ModelError(f"dose target {d.agent}/{d.route} is declared twice")
            seen.add((d.agent, d.route))
            if dimensionality(d.unit) != dimensionality(states[d.state].unit):
                raise ModelError(
                    f"dose target {d.agent}/{d.route}: unit {d.unit!r} does not match state "
                    f"{d.state!r} ({states[d.state].unit})"
                )

    # -- symbolic views ---------------------------------------------------------------------
    def expand(self, expr: sp.Expr) -> sp.Expr:
        """Substitute every assignment into ``expr`` (states, parameters and t remain)."""
        subs: dict[sp.Symbol, sp.Expr] = {}
        for a in self.assignments:  # topologically ordered
            subs[a.symbol] = a.expr.xreplace(subs)
        return expr.xreplace(subs)

    def state_flows(self, name: str) -> tuple[list[Flow], list[Flow]]:
        """Inflows and outflows of state ``name``."""
        inflows = [f for f in self.flows if f.target == name]
        outflows = [f for f in self.flows if f.source == name]
        return inflows, outflows

    def rhs_expressions(self, expand: bool = True) -> list[sp.Expr]:
        """dx/dt for each state, as the sum of its inflows minus its outflows."""
        out = []
        for s in self.states:
            inflows, outflows = self.state_flows(s.name)
            expr = sp.Add(*[f.rate for f in inflows]) - sp.Add(*[f.rate for f in outflows])
            out.append(self.expand(expr) if expand else expr)
        return out

    def output_expressions(self) -> dict[str, sp.Expr]:
        """Each assignment expanded in states and parameters."""
        return {a.name: self.expand(a.expr) for a in self.assignments}

    # -- lookups ----------------------------------------------------------------------------
    @property
    def agents(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d.agent for d in self.dose_targets))

    def routes(self, agent: str) -> tuple[str, ...]:
        return tuple(d.route for d in self.dose_targets if d.agent == agent)

    def dose_target(self, agent: str, route: str | None) -> DoseTarget:
        """The target of ``agent`` by ``route`` (``None``: the agent's default route)."""
        targets = [d for d in self.dose_targets if d.agent == agent]
        if not targets:
            raise DosingError(
                f"unknown agent {agent!r} for model {self.name!r}; known agents: {', '.join(self.agents)}"
            )
        if route is None:
            defaults = [d for d in targets if d.default_route] or (targets if len(targets) == 1 else [])
            if not defaults:
                raise DosingError(
                    f"agent {agent!r} needs a route; one of: {', '.join(d.route for d in targets)}"
                )
            return defaults[0]
        for d in targets:
            if d.route == route:
                return d
        raise DosingError(
            f"unknown route {route!r} for agent {agent!r}; known routes: {', '.join(d.route for d in targets)}"
        )

    def state(self, name: str) -> State:
        return self.states[self.index[name]]

    def parameter(self, name: str) -> ParameterDecl:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def module(self, name: str) -> Module:
        for m in self.modules:
            if m.name == name:
                return m
        raise KeyError(name)

    def replace(self, module: Module) -> "Model":
        """A new model with the module of the same name replaced by ``module``."""
        if module.name not in {m.name for m in self.modules}:
            raise ModelError(f"no module {module.name!r} to replace in model {self.name!r}")
        return self._derived([module if m.name == module.name else m for m in self.modules])

    def without(self, *names: str) -> "Model":
        """A new model without the named modules (their inputs fall back to defaults)."""
        unknown = set(names) - {m.name for m in self.modules}
        if unknown:
            raise ModelError(f"no module(s) {sorted(unknown)} in model {self.name!r}")
        return self._derived([m for m in self.modules if m.name not in names])

    def _derived(self, modules: list[Module]) -> "Model":
        new = Model(modules, self.name)
        if self.parameter_set is not None:
            new.attach(self.parameter_set)
        return new

    def units(self) -> dict[str, str]:
        """Unit of every state and assignment."""
        out = {s.name: s.unit for s in self.states}
        out.update({a.name: a.unit for a in self.assignments})
        return out

    def __repr__(self) -> str:
        mods = ", ".join(m.name for m in self.modules)
        return f"Model({self.name!r}: {len(self.states)} states, {len(self.parameters)} parameters; modules {mods})"

