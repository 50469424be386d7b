"""Compiled simulation engine: the symbolic model printed as C, with a Rosenbrock integrator.

The right-hand side and the sparse analytic Jacobian are printed from the same symbolic
pieces as the Python code (:func:`poi_ode.compile.symbolic_pieces`), joined with a
model-independent RODAS4 integrator (``rodas.c``), compiled once with the system's C compiler
(``$CC``, else ``cc``) and cached next to the generated Python code. A batch entry point runs
many simulations in one call, on several threads where the compiler supports OpenMP.

The cached library is written whole or not at all (a temporary file, then a rename) and sealed:
its SHA-256 is appended to the file (the loader ignores bytes past the segments it maps). A
library whose seal does not match, or that the loader refuses, is rebuilt with one
:class:`~poi_ode.errors.CacheWarning` naming it, rather than passed over for the slower engine.

Without a working C compiler :func:`native_model` raises :class:`NativeUnavailable`; the
simulator then falls back to scipy (``method="LSODA"``).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp
from sympy.printing.c import C99CodePrinter

from .._files import write_atomic
from ..compile import bind_used, cache_dir, cse_block, symbolic_pieces
from ..errors import CacheWarning, PoiOdeError

if TYPE_CHECKING:  # pragma: no cover
    from ..model.core import Model

__all__ = ["ENGINE", "FAILURES", "NativeModel", "NativeUnavailable", "available", "c_source", "native_model"]

_ENGINE = Path(__file__).with_name("rodas.c")
_CFLAGS = ("-O3", "-fno-math-errno", "-fPIC", "-shared")  # no -ffast-math: the engine tests isfinite()
# the engine, its generator (this file) and the flags: a change to any of them builds a new library
_ENGINE_HASH = hashlib.sha256(_ENGINE.read_bytes() + Path(__file__).read_bytes()
                              + repr(_CFLAGS).encode()).hexdigest()[:12]
_MEMORY: dict[str, "NativeModel"] = {}
_UNAVAILABLE: dict[str, str] = {}
FAILURES = {1: "too many steps", 2: "step size underflow", 3: "singular iteration matrix",
            4: "non-finite values", -1: "out of memory"}
_STATS = ("nfe", "nje", "steps", "rejected", "status")
ENGINE = "compiled C (RODAS4)"
"""What ``stats["engine"]`` of a simulation says when this engine ran it."""
_SEAL = b"\n/* poi_ode sha256 "
_SEAL_LENGTH = len(_SEAL) + 64 + 4  # the marker, the hex digest, " */\n"


class NativeUnavailable(PoiOdeError):
    """The compiled engine cannot be built here (no C compiler, or it failed)."""


_C_ASSIGN = "    const double {} = {};"


def _function(name: str, exprs: list[sp.Expr], targets: list[str], n: int, q_names: list[str],
              printer: C99CodePrinter) -> list[str]:
    lines, printed = cse_block(exprs, printer, _C_ASSIGN)
    body = [*lines, *(f"    {target} = {e};" for target, e in zip(targets, printed))]
    states = [f"y{i}" for i in range(n)]
    head = [f"static void {name}(double t, const double *y, const double *q, double *out) {{",
            "    (void)t; (void)y; (void)q;"]
    return [*head, *bind_used(states, body, "y", _C_ASSIGN), *bind_used(q_names, body, "q", _C_ASSIGN), *body, "}", ""]


def _markowitz(pattern: set[tuple[int, int]], n: int) -> tuple[list[int], set[tuple[int, int]]]:
    """Elimination order (greedy Markowitz) and the pattern with its fill-in."""
    fill, remaining, order = set(pattern), set(range(n)), []
    while remaining:
        def cost(k):
            rows = sum((i, k) in fill for i in remaining if i != k)
            cols = sum((k, j) in fill for j in remaining if j != k)
            return rows * cols, k

        pivot = min(remaining, key=cost)
        order.append(pivot)
        remaining.discard(pivot)
        rows = [i for i in remaining if (i, pivot) in fill]
        cols = [j for j in remaining if (pivot, j) in fill]
        fill.update((i, j) for i in rows for j in cols)
    return order, fill


def _lu_pattern(jac_nonzero: list[tuple[int, int]], n: int) -> tuple[list[int], dict[tuple[int, int], int]]:
    """Elimination order and the compact index of every entry of the factors (fill-in included)."""
    order, fill = _markowitz(set(jac_nonzero) | {(i, i) for i in range(n)}, n)
    return order, {ij: k for k, ij in enumerate(sorted(fill))}


def _sparse_lu(jac_nonzero: list[tuple[int, int]], n: int) -> list[str]:
    """Straight-line C for the LU factors of ``E = I/(h gamma) - J`` on its fixed pattern.

    No pivoting (as in KPP's Rosenbrock solvers): the order is chosen for sparsity, and a zero
    or non-finite pivot makes ``model_lu`` return its 1-based position so the engine can fall
    back to the dense LU with partial pivoting for that step.
    """
    order, index = _lu_pattern(jac_nonzero, n)
    entries = list(index)
    lu, fwd, bwd = [], [], []
    done: list[int] = []
    for step, k in enumerate(order):
        later = order[step + 1:]
        d = index[(k, k)]
        lu.append(f"    if (!(fabs(e[{d}]) > 0.0) || !isfinite(e[{d}])) return {step + 1};")
        lu.append(f"    inv = dinv[{k}] = 1.0 / e[{d}];")
        for i in later:
            if (i, k) in index:
                lu.append(f"    e[{index[(i, k)]}] *= inv;")
                lu += [f"    e[{index[(i, j)]}] -= e[{index[(i, k)]}] * e[{index[(k, j)]}];" for j in later
                       if (k, j) in index]
                fwd.append(f"    b[{i}] -= e[{index[(i, k)]}] * b[{k}];")
        done.append(k)
    for step in range(n - 1, -1, -1):
        k = order[step]
        terms = "".join(f" - e[{index[(k, j)]}] * b[{j}]" for j in order[step + 1:] if (k, j) in index)
        bwd.append(f"    b[{k}] = (b[{k}]{terms}) * dinv[{k}];")
    diagonal = ", ".join(str(index[(i, i)]) for i in range(n))
    return [
        f"#define LU_NNZ {len(entries)}",
        f"static const int LU_DIAG[N_STATES] = {{{diagonal}}};",
        "static int model_lu(double *e, double *dinv) {",
        "    double inv;",
        *lu,
        "    (void)inv;",
        "    return 0;",
        "}",
        "static void model_lu_solve(const double *e, const double *dinv, double *b) {",
        *fwd,
        *bwd,
        "}",
        "",
    ]


def _array(name: str, values: list[int]) -> str:
    """A C array of ints (one 0 if empty: C has no empty arrays)."""
    return f"static const int {name}[] = {{{', '.join(map(str, values)) or '0'}}};"


def _second_derivatives(exprs: list[sp.Expr], n: int) -> list[tuple[int, int, sp.Expr]]:
    """(entry, state m, d expr / d y_m) of every non-zero derivative of ``exprs`` by a state."""
    ys = [sp.Symbol(f"y{m}") for m in range(n)]
    out = []
    for e, x in enumerate(exprs):
        for m in range(n):
            if ys[m] in x.free_symbols:
                d = sp.diff(x, ys[m])
                if d != 0:
                    out.append((e, m, d))
    return out


def _sensitivity_source(model: "Model", printer: C99CodePrinter) -> list[str]:
    """Generated C the forward sensitivities need.

    The right-hand side with the Jacobian on its compact sparse pattern (one function, the stage
    evaluation of the augmented system), one function per parameter for its column of df/dp
    (only the columns asked for are evaluated), the second derivatives for the coupling block
    ``H_j = d(J S_j + F_j)/dy`` of the augmented Jacobian (``dJ_e/dy_m`` of every Jacobian entry e,
    ``dF_ij/dy_m`` per parameter column; H_j lies on the Jacobian's pattern), and straight-line
    sparse products on that pattern (``jac_pattern_mv``, ``d2j_contract``).
    """
    s = symbolic_pieces(model)
    n, n_p = s.n, s.n_params
    out = [f"#define JAC_NNZ {len(s.jac_nonzero)}", f"#define N_P {n_p}"]
    both = _function("model_rhs_jac_nz", [*s.rhs, *s.jac_entries],
                     [f"out[{i}]" for i in range(n)] + [f"jout[{k}]" for k in range(len(s.jac_entries))], n, s.q_names,
                     printer)  # one CSE over both: they share most subexpressions
    both[0] = both[0].replace("double *out)", "double *out, double *jout)")
    out += both
    at = {ij: e for e, ij in enumerate(s.jac_nonzero)}

    def on_pattern(rows_and_states):
        """Positions on the Jacobian's pattern of (row, state) pairs: where d(J S + F)/dy lives."""
        missing = [ij for ij in rows_and_states if ij not in at]
        if missing:
            raise NativeUnavailable(f"a second derivative at {missing[0]} lies off the Jacobian's pattern")
        return [at[ij] for ij in rows_and_states]

    d2j = _second_derivatives(s.jac_entries, n)
    on_pattern([(s.jac_nonzero[e][0], m) for e, m, _ in d2j])
    out.append(f"#define D2J_NNZ {len(d2j)}")
    out += _function("model_d2jac", [d for _, _, d in d2j], [f"out[{k}]" for k in range(len(d2j))], n, s.q_names,
                     printer)
    # straight-line sparse products on the Jacobian's pattern (row sums: no scattered stores)
    rows: dict[int, list[str]] = {}
    for e, (i, j) in enumerate(s.jac_nonzero):
        rows.setdefault(i, []).append(f"a[{e}] * x[{j}]")
    out += ["/* out += A x for A on the Jacobian's pattern */",
            "static void jac_pattern_mv(const double *a, const double *x, double *out) {",
            *(f"    out[{i}] += {' + '.join(terms)};" for i, terms in sorted(rows.items())),
            "    (void)a; (void)x; (void)out;", "}"]
    into: dict[int, list[str]] = {}
    for k_, (e, m, _) in enumerate(d2j):
        into.setdefault(at[(s.jac_nonzero[e][0], m)], []).append(f"d[{k_}] * x[{s.jac_nonzero[e][1]}]")
    out += ["/* h = (dJ/dy) contracted with x, on the Jacobian's pattern (d: model_d2jac) */",
            "static void d2j_contract(const double *d, const double *x, double *h) {",
            *(f"    h[{p}] = {' + '.join(into[p])};" if p in into else f"    h[{p}] = 0.0;"
              for p in range(len(s.jac_nonzero))), "    (void)d; (void)x; (void)h;", "}"]
    columns: dict[int, list[tuple[int, sp.Expr]]] = {}
    for (i, j), e in zip(s.dfdp_nonzero, s.dfdp_entries):
        columns.setdefault(j, []).append((i, e))
    fn, d2fn, lengths, d2_lengths = [], [], [], []
    for j in range(n_p):
        entries = columns.get(j, [])
        lengths.append(len(entries))
        if not entries:
            fn.append("0")
            d2fn.append("0")
            d2_lengths.append(0)
            out += [_array(f"DFDP{j}_ROW", []), _array(f"D2F{j}_H", [])]
            continue
        out.append(_array(f"DFDP{j}_ROW", [i for i, _ in entries]))
        out += _function(f"model_dfdp_{j}", [e for _, e in entries], [f"out[{k}]" for k in range(len(entries))], n,
                         s.q_names, printer)
        d2 = _second_derivatives([e for _, e in entries], n)
        d2_lengths.append(len(d2))
        out.append(_array(f"D2F{j}_H", on_pattern([(entries[e][0], m) for e, m, _ in d2])))
        out += _function(f"model_d2fdp_{j}", [d for _, _, d in d2], [f"out[{k}]" for k in range(len(d2))], n, s.q_names,
                         printer)
        fn.append(f"model_dfdp_{j}")
        d2fn.append(f"model_d2fdp_{j}" if d2 else "0")
    out += [
        "typedef void (*model_fn)(double, const double *, const double *, double *);",
        f"static const model_fn DFDP_FN[N_P] = {{{', '.join(fn)}}};",
        f"static const model_fn D2F_FN[N_P] = {{{', '.join(d2fn)}}};",
        _array("DFDP_LEN", lengths), _array("D2F_LEN", d2_lengths),
        f"static const int *const DFDP_ROWS[N_P] = {{{', '.join(f'DFDP{j}_ROW' for j in range(n_p))}}};",
        f"static const int *const D2F_HS[N_P] = {{{', '.join(f'D2F{j}_H' for j in range(n_p))}}};",
        "",
    ]
    return out


def c_source(model: "Model", sensitivities: bool = False) -> str:
    """The complete C translation unit for ``model``: generated equations, then the engine.

    With ``sensitivities`` the unit also holds what :meth:`NativeModel.sensitivities` needs
    (defines ``POI_SENSITIVITIES``; derived with second derivatives, so built only on demand).
    """
    s = symbolic_pieces(model)
    printer = C99CodePrinter()
    n = s.n
    t_sym = sp.Symbol("t")
    dfdt = [sp.diff(e, t_sym) for e in s.rhs] if s.time_dependent else [sp.S.Zero] * n
    out = [
        f"/* generated by poi_ode from the symbolic model {model.name!r}; do not edit */",
        "#include <math.h>",
        f"#define N_STATES {n}",
        f"#define N_Q {len(s.q_names)}",
        f"#define TIME_DEPENDENT {int(s.time_dependent)}",
    ]
    out += _function("model_rhs", s.rhs, [f"out[{i}]" for i in range(n)], n, s.q_names, printer)
    out += _function("model_jac", s.jac_entries, [f"out[{i * n + j}]" for i, j in s.jac_nonzero], n, s.q_names, printer)
    out += _function("model_dfdt", dfdt, [f"out[{i}]" for i in range(n)], n, s.q_names, printer)
    out += [f"#define N_OUT {len(s.outputs)}"]
    out += _function("model_outputs", s.outputs, [f"out[{i}]" for i in range(len(s.outputs))], n, s.q_names, printer)
    out += _sparse_lu(s.jac_nonzero, n)
    # -J written straight into the compact factor array (fill-in and missing diagonal at 0)
    _, index = _lu_pattern(s.jac_nonzero, n)
    minus_j = dict(zip(s.jac_nonzero, s.jac_entries))
    out += _function("model_minus_jac_lu", [-minus_j.get(ij, sp.S.Zero) for ij in index],
                     [f"out[{k}]" for k in index.values()], n, s.q_names, printer)
    if sensitivities:
        out = ["#define POI_SENSITIVITIES", *out, *_sensitivity_source(model, printer)]
    return "\n".join(out) + "\n" + _ENGINE.read_text(encoding="utf-8")


def _compiler() -> str | None:
    cc = os.environ.get("CC") or "cc"
    return shutil.which(cc) or shutil.which("gcc")


def _compile(source: str, target: Path) -> None:
    cc = _compiler()
    if cc is None:
        raise NativeUnavailable("no C compiler found (set CC, or install gcc)")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "model.c"
        src.write_text(source, encoding="utf-8")
        out = Path(tmp) / target.name
        base = [cc, *_CFLAGS, str(src), "-o", str(out), "-lm"]
        errors = []
        for extra in (["-fopenmp"], []):  # OpenMP where the compiler has it
            run = subprocess.run(base[:1] + extra + base[1:], capture_output=True, text=True)
            if run.returncode == 0:
                write_atomic(target, _sealed(out.read_bytes()))
                return
            errors.append(run.stderr.strip()[-2000:])
        raise NativeUnavailable(f"compiling the model failed:\n{errors[-1]}")


def _sealed(library: bytes) -> bytes:
    """``library`` with its SHA-256 appended (what :func:`_seal_problem` checks)."""
    return library + _SEAL + hashlib.sha256(library).hexdigest().encode("ascii") + b" */\n"


def _seal_problem(path: Path) -> str | None:
    """None if the library at ``path`` carries a matching seal, else what is wrong with it."""
    data = path.read_bytes()
    tail = data[-_SEAL_LENGTH:]
    if len(data) <= _SEAL_LENGTH or not tail.startswith(_SEAL) or not tail.endswith(b" */\n"):
        return "no seal at its end (truncated, or not written by this version)"
    if hashlib.sha256(data[:-_SEAL_LENGTH]).hexdigest().encode("ascii") != tail[len(_SEAL):-4]:
        return "its contents do not match its seal (damaged)"
    return None


def _load_library(path: Path, build) -> ctypes.CDLL:
    """The library at ``path``, built by ``build()`` if missing; a damaged one is rebuilt once,
    with a :class:`CacheWarning` naming it."""
    built = False
    if not path.exists():
        build()
        built = True
    problem = None if built else _seal_problem(path)
    if problem is None:
        try:
            return ctypes.CDLL(str(path))
        except OSError as exc:
            if built:
                raise
            problem = f"the loader refuses it ({exc})"
    warnings.warn(f"cached compiled library {path}: {problem}; rebuilding it", CacheWarning, stacklevel=4)
    build()
    return ctypes.CDLL(str(path))


@dataclass
class NativeModel:
    """A compiled model: single and batched simulations (states only; outputs stay in numpy)."""

    n_states: int
    n_q: int
    n_outputs: int
    library: ctypes.CDLL
    path: Path
    openmp: bool
    time_dependent: bool = False
    """Whether the right-hand side depends on time (the sensitivity integrator needs an autonomous model)."""

    def simulate(self, q, y0, dose_times, jumps, times, rtol: float, atol, max_steps: int):
        """Integrate one simulation; return (states and outputs at ``times``, stats dict, failure day or None)."""
        Y, O, stats, t_fail = self.simulate_batch([q], [y0], [dose_times], [jumps], times, rtol, atol, max_steps, 1)
        return Y[0], O[0], stats[0], t_fail[0]

    def simulate_batch(self, Q, Y0, dose_times, jumps, times, rtol: float, atol, max_steps: int, threads: int = 1):
        """Integrate many simulations with shared output ``times``.

        Parameters
        ----------
        Q : (n_sim, n_q) prepared constants; Y0 : (n_sim, n_states) initial states.
        dose_times : list of (n_dose_b,) sorted dose days per simulation.
        jumps : list of (n_dose_b, n_states) additions to the states at those days.
        times : (n_out,) increasing output days (the first >= 0).

        Returns
        -------
        Y : (n_sim, n_out, n_states); O : (n_sim, n_out, n_outputs) model outputs (NaN where
        the simulation failed); stats : list of dicts; t_fail : list of day or None.
        """
        t_out = np.asarray(times, dtype=float)
        n_sim = len(Q)
        Y, O, stats, fails = self.simulate_ragged(Q, Y0, dose_times, jumps, [t_out] * n_sim, rtol, atol, max_steps,
                                                  threads)
        shape = (n_sim, t_out.size)
        return (np.stack(Y) if n_sim else np.empty(shape + (self.n_states,)),
                np.stack(O) if n_sim else np.empty(shape + (self.n_outputs,)), stats, fails)

    def simulate_ragged(self, Q, Y0, dose_times, jumps, times, rtol: float, atol, max_steps: int, threads: int = 1):
        """Integrate many simulations, each with its own output times, in one call.

        Each simulation is integrated exactly as it would be alone (the solver lands on its own
        output times only), so the values equal those of :meth:`simulate` with the same input.

        Parameters
        ----------
        Q, Y0, dose_times, jumps
            As :meth:`simulate_batch`.
        times : list of (n_out_b,) increasing output days per simulation (the first >= 0).

        Returns
        -------
        Y : list of (n_out_b, n_states); O : list of (n_out_b, n_outputs) model outputs (NaN
        where the simulation failed); stats : list of dicts; t_fail : list of day or None.
        """
        n = self.n_states
        Q = np.ascontiguousarray(np.stack([np.asarray(q, float) for q in Q]) if len(Q) != 1
                                 else np.asarray(Q[0], float)[None])  # (one simulation: np.stack's array, no copy)
        Y0 = np.ascontiguousarray(np.stack([np.asarray(y, float) for y in Y0]) if len(Y0) != 1
                                  else np.asarray(Y0[0], float)[None])
        n_sim = Q.shape[0]
        if Q.shape != (n_sim, self.n_q) or Y0.shape != (n_sim, n) or len(times) != n_sim:
            raise ValueError(f"batch shapes Q {Q.shape}, Y0 {Y0.shape}, {len(times)} output grids do not match "
                             f"({n_sim}, {self.n_q}/{n})")
        # offsets as running sums of Python ints (the values of cumsum, without its array operations)
        start = np.array([0, *accumulate(len(d) for d in dose_times)], dtype=np.int32)
        total = int(start[-1])
        dt = np.ascontiguousarray(np.concatenate([np.asarray(d, float) for d in dose_times]) if total
                                  else np.zeros(1))
        jm = np.ascontiguousarray(np.concatenate([np.asarray(j, float).reshape(-1, n) for j in jumps])
                                  if total else np.zeros((1, n)))
        grids = [np.asarray(t, dtype=float).ravel() for t in times]
        if any(g.size == 0 for g in grids):
            raise ValueError("every simulation of a batch needs at least one output time")
        bounds = [0, *accumulate(g.size for g in grids)]
        out_start = np.array(bounds, dtype=np.int32)
        t_out = np.ascontiguousarray(np.concatenate(grids) if len(grids) != 1 else grids[0])
        atol_v = _atol_vector(atol, n)
        Y = np.empty((t_out.size, n))
        O = np.full((t_out.size, self.n_outputs), np.nan)
        stats = np.zeros((n_sim, len(_STATS)), dtype=np.int64)
        t_fail = np.full(n_sim, np.nan)
        status = self.library.poi_simulate_ragged(
            n_sim, Q.ctypes.data, Y0.ctypes.data, start.ctypes.data, dt.ctypes.data, jm.ctypes.data,
            out_start.ctypes.data, t_out.ctypes.data, Y.ctypes.data, O.ctypes.data, rtol, atol_v.ctypes.data,
            max_steps, stats.ctypes.data, t_fail.ctypes.data, max(1, int(threads)),
        )
        if status < 0:
            raise MemoryError("the compiled engine could not allocate its workspace")
        rows = stats.tolist()
        stat_dicts = [dict(zip(_STATS, row)) for row in rows]
        fails = [float(t_fail[b]) if rows[b][4] != 0 else None for b in range(n_sim)]
        return ([Y[bounds[b]:bounds[b + 1]] for b in range(n_sim)], [O[bounds[b]:bounds[b + 1]] for b in range(n_sim)],
                stat_dicts, fails)

    def sensitivities(self, q, y0, S0, columns, pscale, times, rtol: float, atol, max_steps: int,
                      norm_columns: int | None = None):
        """Integrate states and forward sensitivities of an autonomous model from day 0 (no doses).

        Needs a library built with ``native_model(model, sensitivities=True)``.

        Parameters
        ----------
        q : (n_q,) prepared constants; y0 : (n_states,) initial state.
        S0 : (n_states, k) initial sensitivities d y0 / d p_c (state units per declared parameter unit).
        columns : (k,) indices of the parameters (model order) to differentiate with respect to.
        pscale : (k,) typical magnitude of each parameter (its |value|, 1 where 0): the error of
            column c is controlled on ``pscale[c] * S[:, c]``, in state units.
        times : (n_out,) increasing output days (>= 0; a day 0 gets the initial values).
        rtol, atol, max_steps : as for :meth:`simulate` (``max_steps``: the whole run).
        norm_columns : int, optional
            Columns the error norm averages over (default and at least k): a caller that leaves out
            columns it knows to stay exactly 0 gives their number here, and the steps (and values) are
            those of the run with them (each would add 0 to the norm's sum).

        Returns
        -------
        Y : (n_out, n_states); S : (n_out, n_states, k); stats : dict; t_fail : day or None.
        """
        n = self.n_states
        columns = np.asarray(columns, dtype=int)
        k = columns.size
        listed = columns.ravel().tolist()  # (the range check on Python ints: no array reductions)
        if k and (min(listed) < 0 or max(listed) >= self.library.poi_n_p()):
            raise ValueError(f"parameter columns {columns} out of range")
        col = np.ascontiguousarray(columns, dtype=np.int32)
        y = np.ascontiguousarray(y0, dtype=float).copy()
        S = np.ascontiguousarray(np.asarray(S0, float).reshape(n, k).T).copy()  # column c contiguous
        scale = np.ascontiguousarray(pscale, dtype=float)
        t_out = np.ascontiguousarray(times, dtype=float)
        atol_v = _atol_vector(atol, n)
        q = np.ascontiguousarray(q, dtype=float)
        Y = np.full((t_out.size, n), np.nan)
        S_out = np.full((t_out.size, k, n), np.nan)
        stats = np.zeros(len(_STATS), dtype=np.int64)
        t_fail = np.full(1, np.nan)
        status = self.library.poi_sensitivities(
            q.ctypes.data, y.ctypes.data, S.ctypes.data, k, max(k, int(norm_columns or 0)), col.ctypes.data,
            scale.ctypes.data, t_out.size, t_out.ctypes.data, Y.ctypes.data, S_out.ctypes.data, rtol,
            atol_v.ctypes.data, max_steps, stats.ctypes.data, t_fail.ctypes.data)
        if status < 0:
            raise MemoryError("the compiled engine could not allocate its workspace")
        return Y, S_out.transpose(0, 2, 1), dict(zip(_STATS, stats.tolist())), (float(t_fail[0]) if status else None)


def _atol_vector(atol, n: int) -> np.ndarray:
    """Absolute tolerance per state (a scalar for all, or one per state), contiguous."""
    if np.ndim(atol) == 0:
        return np.full(n, float(atol))
    return np.ascontiguousarray(np.broadcast_to(np.asarray(atol, float), (n,)))


def native_model(model: "Model", defines: tuple[str, ...] = (), sensitivities: bool = False) -> NativeModel:
    """The compiled engine for ``model`` (built once, cached in memory and on disk).

    ``defines`` are preprocessor macros for the engine (``POI_FORCE_DENSE``: dense LU on
    every step, used by the tests). ``sensitivities`` builds (on first use) a separate library
    that can also integrate forward sensitivities (:meth:`NativeModel.sensitivities`).

    Raises
    ------
    NativeUnavailable
        If no C compiler works here; the reason is in the message.
    """
    key = "_".join([model.compiled.key, _ENGINE_HASH, *defines, *(["sens"] if sensitivities else [])])
    if key in _MEMORY:
        return _MEMORY[key]
    if key in _UNAVAILABLE:
        raise NativeUnavailable(_UNAVAILABLE[key])
    folder = cache_dir() or Path(tempfile.mkdtemp(prefix="poi_ode_native_"))
    path = folder / f"native_{key}.so"
    try:
        prefix = "".join(f"#define {d}\n" for d in defines)
        library = _load_library(path, lambda: _compile(prefix + c_source(model, sensitivities), path))
    except (NativeUnavailable, OSError) as exc:
        _UNAVAILABLE[key] = str(exc)
        raise NativeUnavailable(str(exc)) from exc
    vp, i = ctypes.c_void_p, ctypes.c_int
    library.poi_simulate_ragged.argtypes = [i, vp, vp, vp, vp, vp, vp, vp, vp, vp, ctypes.c_double, vp, ctypes.c_long,
                                            vp, vp, i]
    library.poi_simulate_ragged.restype = i
    if sensitivities:
        library.poi_sensitivities.argtypes = [vp, vp, vp, i, i, vp, vp, i, vp, vp, vp, ctypes.c_double, vp,
                                              ctypes.c_long, vp, vp]
        library.poi_sensitivities.restype = i
    n, nq = library.poi_n_states(), library.poi_n_q()
    if n != len(model.states):
        raise NativeUnavailable(f"compiled library {path.name} does not match the model ({n} states)")
    native = NativeModel(n, nq, library.poi_n_outputs(), library, path, openmp=library.poi_openmp() == 1,
                         time_dependent=library.poi_time_dependent() == 1)
    _MEMORY[key] = native
    return native


def available(model: "Model") -> str | None:
    """None if the compiled engine builds for ``model`` here, else the reason it does not."""
    try:
        native_model(model)
    except NativeUnavailable as exc:
        return str(exc)
    return None
