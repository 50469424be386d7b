"""From the symbolic model to fast numeric functions, generated once and cached.

The right-hand side, its analytic Jacobian, the flow rates and the outputs are printed as
Python source from the sympy expressions (with common-subexpression elimination), compiled
with :func:`exec`, and cached in memory and on disk (``$POI_ODE_CACHE`` or
``~/.cache/poi_ode``) under a hash of the expressions.  The generated code is an artefact:
the sympy model stays the one source.

A cached file is written whole or not at all (a temporary file, then a rename) and starts
with a stamp: the generator version and the SHA-256 of the code below it. A file whose stamp
does not match (damaged, truncated, edited) is regenerated, with one
:class:`~poi_ode.errors.CacheWarning` naming it, instead of failing every later run.
"""
from __future__ import annotations

import hashlib
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from ._files import write_atomic
from .errors import CacheWarning

if TYPE_CHECKING:  # pragma: no cover
    from .model.core import Model

__all__ = ["CompiledModel", "compile_model", "cache_dir"]

_GENERATOR_VERSION = "8"  # 8: stamped cache files (and sealed compiled libraries)
_MEMORY: dict[str, dict[str, Any]] = {}  # generated functions, JAC_NONZERO, __source__


def cache_dir() -> Path | None:
    """Folder for generated code: ``$POI_ODE_CACHE``, else ``~/.cache/poi_ode``; None if not writable.

    Set ``POI_ODE_CACHE=off`` to disable the disk cache.
    """
    env = os.environ.get("POI_ODE_CACHE")
    if env == "off":
        return None
    path = Path(env) if env else Path.home() / ".cache" / "poi_ode"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


class _Printer(PythonCodePrinter):
    """Python printer using the math module, with integer powers as products."""

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        if exp.is_Integer and 1 < abs(int(exp)) <= 4:
            body = "(" + "*".join([self.parenthesize(base, 100)] * abs(int(exp))) + ")"
            return body if exp > 0 else f"(1.0/{body})"
        if exp == -1:
            return f"(1.0/{self.parenthesize(base, 100)})"
        return super()._print_Pow(expr, rational=rational)


class _VectorPrinter(_Printer):
    """Printer whose functions work elementwise on numpy arrays."""

    def _print_Function(self, expr):
        return f"np.{expr.func.__name__}({', '.join(self._print(a) for a in expr.args)})"

    _print_exp = _print_Function
    _print_log = _print_Function


def cse_block(exprs: list[sp.Expr], printer, assign: str = "    {} = {}") -> tuple[list[str], list[str]]:
    """CSE over ``exprs``; return assignment lines (``assign`` formats name and value) and the
    printed reduced expressions. Shared by the Python and the C generator."""
    reps, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_c"), order="none")
    lines = [assign.format(printer.doprint(s), printer.doprint(e)) for s, e in reps]
    return lines, [printer.doprint(e) for e in reduced]


class _Hoist:
    """Replace maximal parameter-only subexpressions by constants computed once per parameter set.

    ``ln 2 / t_half * f_lung`` in a rate becomes one constant ``h3``; the solver's right-hand
    side then multiplies it by the state, instead of recomputing it at every call.
    """

    def __init__(self, params: set[sp.Symbol]) -> None:
        self.params = params
        self.table: dict[sp.Expr, sp.Symbol] = {}

    def _const(self, e: sp.Expr) -> bool:
        return e.free_symbols <= self.params

    def _symbol(self, e: sp.Expr) -> sp.Expr:
        if e.is_Atom:
            return e
        if e not in self.table:
            self.table[e] = sp.Symbol(f"h{len(self.table)}")
        return self.table[e]

    def __call__(self, e: sp.Expr) -> sp.Expr:
        if e.is_Atom:
            return e
        if self._const(e):
            return self._symbol(e)
        if isinstance(e, (sp.Add, sp.Mul)):
            const = [a for a in e.args if self._const(a)]
            rest = [self(a) for a in e.args if not self._const(a)]
            head = [self._symbol(e.func(*const))] if const else []
            return e.func(*head, *rest, evaluate=False)
        return e.func(*[self(a) for a in e.args])


def _unpack(names: list[str], source: str) -> str:
    if not names:
        return ""
    return f"    {', '.join(names)}{',' if len(names) == 1 else ''} = {source}"


def bind_used(names: list[str], body: list[str], source: str = "q", assign: str = "    {} = {}") -> list[str]:
    """Lines binding only the names of ``names`` that ``body`` uses (by position in ``source``)."""
    text = "\n".join(body)
    return [assign.format(name, f"{source}[{i}]") for i, name in enumerate(names) if re.search(rf"\b{name}\b", text)]


@dataclass
class SymbolicPieces:
    """The model's equations in the shape code generators print them.

    Symbols are renamed ``y{i}`` (states), ``p{i}`` (parameters) and ``h{i}`` (hoisted
    parameter-only constants); ``q_names`` lists the entries of ``q = prepare(p)`` in order.
    """

    n: int
    n_params: int
    rhs: list[sp.Expr]
    jac_nonzero: list[tuple[int, int]]
    jac_entries: list[sp.Expr]
    dfdp_nonzero: list[tuple[int, int]]
    dfdp_entries: list[sp.Expr]
    flows: list[sp.Expr]
    outputs: list[sp.Expr]
    constants: list[sp.Expr]
    q_names: list[str]
    time_dependent: bool


def symbolic_pieces(model: "Model") -> SymbolicPieces:
    """Right-hand side, sparse Jacobian, df/dp, flows and outputs, renamed and hoisted.

    Derived once per symbolic model and process (the Python and C generators share it).
    """
    key = _key(model)
    if key not in _PIECES:
        _PIECES[key] = _derive_pieces(model)
    return _PIECES[key]


_PIECES: dict[str, SymbolicPieces] = {}


def _derive_pieces(model: "Model") -> SymbolicPieces:
    n = len(model.states)
    y_sym = [s.symbol for s in model.states]
    p_sym = [p.symbol for p in model.parameters]
    safe = {s: sp.Symbol(f"y{i}") for i, s in enumerate(y_sym)}
    safe.update({s: sp.Symbol(f"p{i}") for i, s in enumerate(p_sym)})
    safe[sp.Symbol("t", real=True, nonnegative=True)] = sp.Symbol("t")

    rhs = [e.xreplace(safe) for e in model.rhs_expressions()]
    ys = [safe[s] for s in y_sym]
    jac = sp.Matrix(rhs).jacobian(ys)
    nz = [(i, j) for i in range(n) for j in range(n) if jac[i, j] != 0]
    ps = [safe[s] for s in p_sym]
    dfdp = sp.Matrix(rhs).jacobian(ps)
    nzp = [(i, j) for i in range(n) for j in range(len(ps)) if dfdp[i, j] != 0]
    flows = [model.expand(f.rate).xreplace(safe) for f in model.flows]
    outputs = [e.xreplace(safe) for e in model.output_expressions().values()]
    time_dependent = any(sp.Symbol("t") in e.free_symbols for e in rhs)

    hoist = _Hoist(set(ps))
    rhs = [hoist(e) for e in rhs]
    jac_entries = [hoist(jac[i, j]) for i, j in nz]
    dfdp_entries = [hoist(dfdp[i, j]) for i, j in nzp]
    flows = [hoist(e) for e in flows]
    outputs = [hoist(e) for e in outputs]
    constants = list(hoist.table)
    q_names = [f"p{i}" for i in range(len(p_sym))] + [str(hoist.table[c]) for c in constants]
    return SymbolicPieces(n, len(ps), rhs, nz, jac_entries, nzp, dfdp_entries, flows, outputs, constants, q_names,
                          time_dependent)


def _source(model: "Model") -> str:
    """Python source of prepare, rhs, jac, flows and outputs for ``model``."""
    s = symbolic_pieces(model)
    n, nz, nzp, q_names = s.n, s.jac_nonzero, s.dfdp_nonzero, s.q_names
    scalar, vector = _Printer({"fully_qualified_modules": False}), _VectorPrinter({"fully_qualified_modules": False})
    out = ["import math", "from math import *", "import numpy as np", ""]

    lines, printed = cse_block(s.constants, scalar)
    out += ["def prepare(p):", _unpack([f"p{i}" for i in range(s.n_params)], "np.asarray(p, dtype=float).tolist()"),
            *lines]
    out += [f"    return tuple([{', '.join([f'p{i}' for i in range(s.n_params)] + printed)}])", ""]

    unpack_y = _unpack([f"y{i}" for i in range(n)], "y.tolist()")  # Python floats: faster arithmetic
    lines, printed = cse_block(s.rhs, scalar)
    body = [*lines, f"    return np.array([{', '.join(printed)}])"]
    out += ["def rhs(t, y, q):", unpack_y, *bind_used(q_names, body), *body, ""]

    lines, printed = cse_block(s.jac_entries, scalar)
    body = [*lines, f"    J = np.zeros(({n}, {n}))", *(f"    J[{i}, {j}] = {e}" for (i, j), e in zip(nz, printed))]
    out += ["def jac(t, y, q):", unpack_y, *bind_used(q_names, body), *body, "    return J", ""]

    lines, printed = cse_block(s.dfdp_entries, scalar)
    body = [*lines, f"    F = np.zeros(({n}, {s.n_params}))",
            *(f"    F[{i}, {j}] = {e}" for (i, j), e in zip(nzp, printed))]
    out += ["def dfdp(t, y, q):", unpack_y, *bind_used(q_names, body), *body, "    return F", ""]

    for name, exprs in (("flows", s.flows), ("outputs", s.outputs)):
        lines, printed = cse_block(exprs, vector)
        out += [f"def {name}(t, y, q):", "    y = np.asarray(y, dtype=float)", "    t = np.asarray(t, dtype=float)"]
        out += [f"    y{i} = y[..., {i}]" for i in range(n)]
        out += [*bind_used(q_names, [*lines, *printed]), *lines]
        out += ["    shape = np.broadcast(t, y[..., 0]).shape"]
        if printed:  # one state: a plain array (broadcasting each of dozens of scalars is slow)
            out += ["    if shape == ():", f"        return np.array([{', '.join(printed)}], dtype=float)"]
        items = ", ".join(f"np.broadcast_to({e}, shape)" for e in printed)
        out += [f"    return np.stack([{items}], axis=-1)" if printed else "    return np.zeros(shape + (0,))", ""]
    out.append(f"JAC_NONZERO = {nz!r}")
    out.append(f"DFDP_NONZERO = {nzp!r}")
    text = "\n".join(line for line in out if line != "")
    return re.sub(r"\n(def )", r"\n\n\1", text) + "\n"


def _key(model: "Model") -> str:
    parts = [
        _GENERATOR_VERSION,
        repr([s.name for s in model.states]),
        repr([p.name for p in model.parameters]),
        repr([a.name for a in model.assignments]),
        *(sp.srepr(f.rate) + repr((f.source, f.target)) for f in model.flows),
        *(sp.srepr(a.expr) for a in model.assignments),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _load(source: str, filename: str) -> dict[str, Any]:
    namespace: dict = {}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace


_STAMP = "# poi_ode generated code; generator {version}; sha256 {digest}\n"


def _stamped(code: str) -> str:
    """``code`` preceded by its stamp (a comment: the file stays valid Python)."""
    digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
    return _STAMP.format(version=_GENERATOR_VERSION, digest=digest) + code


def _damage(text: str) -> str | None:
    """None if ``text`` is an intact stamped file of this generator, else what is wrong with it."""
    head, _, code = text.partition("\n")
    if not head.startswith("# poi_ode generated code;"):
        return "no stamp in its first line"
    if f"; generator {_GENERATOR_VERSION};" not in head:
        return "stamped by another generator version"
    if text != _stamped(code):
        return "damaged or truncated (its code does not match the checksum in its stamp)"
    return None


def _cached_source(path: Path) -> str | None:
    """The intact stamped code of ``path``; None if it is missing, or damaged (with a warning)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problem: str | None = f"unreadable ({exc})"
    else:
        problem = _damage(text)
        if problem is None:
            return text
    warnings.warn(f"cached generated code {path}: {problem}; regenerating it", CacheWarning, stacklevel=4)
    return None


@dataclass(frozen=True)
class CompiledModel:
    """Numeric functions of a model.

    Every function but ``prepare`` takes the prepared constants ``q = prepare(p)``: the
    parameter vector ``p`` (model order, declared units) followed by the parameter-only
    subexpressions of the equations, computed once per parameter set.

    Attributes
    ----------
    prepare : callable ``p -> q``
        Constants for the functions below, a tuple of Python floats (hashable, fast to index).
    rhs : callable ``(t, y, q) -> dy/dt``
        Right-hand side; ``y`` in state order and units; per day.
    jac : callable ``(t, y, q) -> J``
        Analytic Jacobian ``J[i, j] = d rhs_i / d y_j``.
    dfdp : callable ``(t, y, q) -> F``
        Analytic parameter derivatives ``F[i, k] = d rhs_i / d p_k`` (declared units).
    flows : callable ``(t, Y, q) -> rates``
        Every flow rate, vectorised over leading axes of ``Y``.
    outputs : callable ``(t, Y, q) -> values``
        Every assignment (output), vectorised.
    source : str
        The generated Python source as cached on disk (its first line the stamp).
    key : str
        Hash of the symbolic model the code was generated from.
    """

    prepare: Callable[[np.ndarray], np.ndarray]
    rhs: Callable[[float, np.ndarray, np.ndarray], np.ndarray]
    jac: Callable[[float, np.ndarray, np.ndarray], np.ndarray]
    dfdp: Callable[[float, np.ndarray, np.ndarray], np.ndarray]
    flows: Callable[[float | np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    outputs: Callable[[float | np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    jac_nonzero: tuple[tuple[int, int], ...]
    output_names: tuple[str, ...]
    no_inflow: tuple[bool, ...]
    sinks: tuple[bool, ...]
    clocks: tuple[bool, ...]
    incidence: np.ndarray
    source: str
    key: str


def compile_model(model: "Model") -> CompiledModel:
    """Generate (or fetch from cache) the numeric functions of ``model``."""
    key = _key(model)
    namespace = _MEMORY.get(key)
    if namespace is None:
        folder = cache_dir()
        path = folder / f"model_{key}.py" if folder else None
        source = _cached_source(path) if path is not None else None
        namespace = None
        if source is not None:
            try:
                namespace = _load(source, str(path))
            except SyntaxError as exc:  # stamped yet not Python: a generator bug, rebuilt as damage
                warnings.warn(f"cached generated code {path} does not compile ({exc.msg}, line {exc.lineno}): "
                              "regenerating it", CacheWarning, stacklevel=2)
                source = None
        if source is None:
            source = _stamped(_source(model))
            if path is not None:
                try:
                    write_atomic(path, source)  # whole or not at all: concurrent writers write the same text
                except OSError as exc:  # the disk cache is a convenience: run from memory
                    warnings.warn(f"could not cache generated code in {path}: {exc}", CacheWarning, stacklevel=2)
            namespace = _load(source, str(path) if path else f"<poi_ode model {key}>")
        assert namespace is not None  # loaded from the cached source, or generated and loaded just above
        namespace["__source__"] = source
        _MEMORY[key] = namespace
    used = set().union(*(sp.sympify(f.rate).free_symbols for f in model.flows)) if model.flows else set()
    used = {s.name for s in used}
    for a in model.assignments:
        used |= {s.name for s in a.expr.free_symbols}
    no_inflow = tuple(not any(f.target == s.name for f in model.flows) for s in model.states)
    sinks = tuple(
        not any(f.source == s.name for f in model.flows) and s.name not in used for s in model.states
    )
    state_symbols = {s.symbol for s in model.states}
    clocks = tuple(
        not any(f.source == s.name for f in model.flows)
        and any(f.target == s.name for f in model.flows)
        and all(f.source is None and not (model.expand(f.rate).free_symbols & state_symbols)
                for f in model.flows if f.target == s.name)
        for s in model.states
    )
    incidence = np.zeros((len(model.states), len(model.flows)))
    index = {s.name: i for i, s in enumerate(model.states)}
    for k, f in enumerate(model.flows):
        if f.target is not None:
            incidence[index[f.target], k] += 1.0
        if f.source is not None:
            incidence[index[f.source], k] -= 1.0
    return CompiledModel(
        prepare=namespace["prepare"],
        rhs=namespace["rhs"],
        jac=namespace["jac"],
        dfdp=namespace["dfdp"],
        flows=namespace["flows"],
        outputs=namespace["outputs"],
        jac_nonzero=tuple(namespace["JAC_NONZERO"]),
        output_names=tuple(a.name for a in model.assignments),
        no_inflow=no_inflow,
        sinks=sinks,
        clocks=clocks,
        incidence=incidence,
        source=namespace["__source__"],
        key=key,
    )
