"""Local sensitivity analysis: forward sensitivity equations derived from the symbolic model.

For the chosen parameters p (declared units), ``S = dy/dp`` obeys ``dS/dt = J S + df/dp``
with the analytic Jacobian ``J`` and the analytic ``df/dp`` of the compiled model; it is
integrated together with the states across dose events (doses do not depend on p, so S does
not jump). The initial sensitivity of a computed steady state follows from the implicit
function theorem (``dy*/dp = -J_ff^-1 (df_f/dp + J_fh dy_h/dp)`` on the states that are solved
for, ``h`` the held ones); a healthy state is integrated from the start age of the natural
history, its sensitivities with it, from the start state's (where ``dF_prim/dF_prim_start = 1``).
A given initial state has none.

Outputs (the model's assignments ``g(t, y, p)``: AFC, paracrine effect...) have sensitivities
``dg/dy S + dg/dp``, with both derivatives taken by sympy from the output expressions.
Endpoints that are linear in the trajectory (value at a day, AUC) are differentiated exactly
through these sensitivities (:func:`endpoint_sensitivity`); the Fisher information of a
fit problem uses the analytic residual Jacobian built from them (:func:`fisher_information`).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.integrate import ODEintWarning, odeint

from ..dosing import as_regimen
from ..errors import ParameterError, SimulationError
from ..simulate import (
    DAYS_PER_YEAR,
    frozen_and_sinks,
    has_natural_history,
    healthy_state,
    initial_state,
    integrate_across_doses,
    natural_history_parameters,
    reference_age,
    reserve_state,
    resolve_parameters,
    start_age,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..fitting.problem import FitProblem
    from ..fitting.result import FitResult
    from ..model.core import Model
    from ..parameters import ParameterSet
    from ..predict.endpoints import Endpoint

__all__ = [
    "FD_STEP",
    "FisherInformation",
    "Sensitivities",
    "endpoint_sensitivity",
    "fisher_information",
    "forward",
    "output_jacobians",
]

FD_STEP = 0.05
"""Relative step (±5 %) of the central differences used for endpoints that have no derivative."""

_OUTPUT_JACOBIANS: dict[str, Callable] = {}


def output_jacobians(model: Model) -> Callable[[Any, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The function ``(t, Y, p) -> (dG/dy, dG/dp)`` of the model's outputs, vectorised over time.

    Both matrices are sympy derivatives of :meth:`~poi_ode.model.core.Model.output_expressions`,
    lambdified once per model (cached under the compiled model's key). ``t`` has shape (n_t,),
    ``Y`` (n_t, n_states) in state units, ``p`` the parameter vector in declared units; the
    results have shapes (n_t, n_outputs, n_states) and (n_t, n_outputs, n_params).
    """
    key = model.compiled.key
    if key not in _OUTPUT_JACOBIANS:
        import sympy as sp

        from ..model.core import sym

        exprs = list(model.output_expressions().values())
        ys, ps = [s.symbol for s in model.states], [p.symbol for p in model.parameters]
        blocks = [sp.Matrix(len(exprs), 1, exprs).jacobian(v) for v in (ys, ps)]
        entries = [(b, i, j) for b, m in enumerate(blocks) for i in range(m.rows) for j in range(m.cols)
                   if m[i, j] != 0]
        fn = sp.lambdify([sym("t"), ys, ps], [blocks[b][i, j] for b, i, j in entries], modules="numpy", cse=True)
        shapes = [(len(exprs), len(ys)), (len(exprs), len(ps))]

        def jacobians(t, Y, p):
            t = np.atleast_1d(np.asarray(t, dtype=float))
            out = tuple(np.zeros((t.size, *shape)) for shape in shapes)
            values = fn(t, np.atleast_2d(np.asarray(Y, dtype=float)).T, np.asarray(p, dtype=float)) if entries else []
            for (b, i, j), v in zip(entries, values):
                out[b][:, i, j] = v
            return out

        _OUTPUT_JACOBIANS[key] = jacobians
    return _OUTPUT_JACOBIANS[key]


@dataclass
class Sensitivities:
    """States, outputs and their sensitivities on the output days.

    Attributes
    ----------
    time : ndarray (n_t,)
        Output days; at a dose day, the value after the dose.
    states : ndarray (n_t, n_states)
    S : ndarray (n_t, n_states, n_params)
        d state / d parameter, in state units per declared parameter unit.
    parameters : list of str
    values : ndarray (n_params,)
        Parameter values (declared units).
    outputs : ndarray (n_t, n_outputs)
        The model's assignments (AFC, Phi...).
    S_outputs : ndarray (n_t, n_outputs, n_params)
        d output / d parameter, ``dg/dy S + dg/dp``.
    """

    time: np.ndarray
    states: np.ndarray
    S: np.ndarray
    state_names: tuple[str, ...]
    parameters: list[str]
    values: np.ndarray
    output_names: tuple[str, ...] = ()
    outputs: np.ndarray | None = None
    S_outputs: np.ndarray | None = None

    def _column(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name in self.state_names:
            i = self.state_names.index(name)
            return self.states[:, i], self.S[:, i, :]
        if name in self.output_names and self.outputs is not None and self.S_outputs is not None:
            i = self.output_names.index(name)
            return self.outputs[:, i], self.S_outputs[:, i, :]
        known = ", ".join(self.state_names + self.output_names)
        raise ParameterError(f"{name!r} is neither a state nor an output; known: {known}")

    def value(self, name: str) -> np.ndarray:
        """Values of state or output ``name``, shape (n_t,)."""
        return self._column(name)[0]

    def of(self, name: str) -> np.ndarray:
        """d name / d p (per declared parameter unit) of a state or output, shape (n_t, n_params)."""
        return self._column(name)[1]

    def normalized(self, name: str) -> np.ndarray:
        """Normalised coefficients d ln(name) / d ln(p), shape (n_t, n_params); NaN where the value is 0."""
        y, d = self._column(name)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.abs(y[:, None]) > 0, d * self.values[None, :] / y[:, None], np.nan)

    def table(self, name: str, day: float) -> pd.DataFrame:
        """Normalised sensitivity of ``name`` at output day ``day`` to every parameter, largest first."""
        hits = np.flatnonzero(np.isclose(self.time, day, rtol=0, atol=1e-9))
        if not hits.size:
            raise ParameterError(f"day {day:g} is not an output day of these sensitivities")
        return _ranked({"parameter": self.parameters, "normalized_sensitivity": self.normalized(name)[hits[-1]]},
                       "normalized_sensitivity")


def _ranked(columns: Mapping[str, Any], key: str) -> pd.DataFrame:
    """A frame of ``columns`` sorted by |key|, largest first (NaN last)."""
    import pandas as pd

    frame = pd.DataFrame(columns)
    order = frame[key].abs().sort_values(ascending=False, na_position="last").index
    return frame.reindex(order).reset_index(drop=True)


def _columns(model: Model, parameters: Sequence[str] | None) -> list[str]:
    names = list(parameters) if parameters is not None else list(model.parameter_names)
    unknown = [n for n in names if n not in model.parameter_names]
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown} for sensitivities")
    return names


def forward(
    model: Model,
    regimen=None,
    times: Sequence[float] | np.ndarray = (),
    params: ParameterSet | Mapping[str, Any] | None = None,
    parameters: Sequence[str] | None = None,
    initial: Any = "healthy",
    age: float | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    method: str = "auto",
    outputs: bool = True,
) -> Sensitivities:
    """States, outputs and their forward sensitivities to ``parameters`` (default: all) at ``times``.

    Parameters
    ----------
    model : Model
    regimen : Regimen, Dose or list of Dose, optional
    times : sequence of float
        Strictly increasing output days (>= 0).
    params : ParameterSet or mapping, optional
        Changes to the model's values (as :func:`~poi_ode.simulate`).
    parameters : list of str, optional
        Parameters to differentiate with respect to.
    initial, age
        As :func:`~poi_ode.simulate`.
    rtol, atol : float
        Tolerances of the augmented system (states and sensitivities; the error of the
        sensitivity to p is measured on ``|p| S``, in state units, by the compiled engine).
    method : {"auto", "rodas", "LSODA"}
        ``"rodas"``: the compiled engine integrates states and sensitivities together
        (:meth:`poi_ode.native.NativeModel.sensitivities`, RODAS4 with the exact augmented
        Jacobian); ``"LSODA"``: scipy's ``odeint`` on the augmented system (banded Newton
        matrix); ``"auto"``: the compiled engine where it builds (autonomous models), else LSODA.
        Doses, initial states and outputs are handled alike by both.
    outputs : bool
        Also compute the outputs and their sensitivities (False: ``outputs`` and
        ``S_outputs`` are None, for callers that use states only).

    Raises
    ------
    ParameterError
        For unknown parameter names, bad times or an unknown method.
    SimulationError
        If the augmented system cannot be integrated (or ``"rodas"`` is unavailable here).
    """
    if method not in ("auto", "rodas", "LSODA"):
        raise ParameterError(f"method must be 'auto', 'rodas' or 'LSODA', not {method!r}")
    c = model.compiled
    pset = resolve_parameters(model, params)
    p = pset.vector(model)
    q = c.prepare(p)
    names = _columns(model, parameters)
    cols = np.array([model.parameter_names.index(n) for n in names], dtype=int)
    grid = np.asarray(times, float)
    if grid.ndim != 1 or grid.size == 0 or grid[0] < 0 or np.any(np.diff(grid) <= 0):
        raise ParameterError("times must be a non-empty, strictly increasing sequence of days >= 0")
    n, k = len(model.states), len(cols)

    frozen, sinks = frozen_and_sinks(model)
    free = np.flatnonzero(~(frozen | sinks))
    held = np.flatnonzero(frozen)

    def steady_sensitivity(y: np.ndarray, S_held: np.ndarray) -> np.ndarray:
        """dy*/dp of a quasi-steady state whose held states have sensitivities ``S_held``."""
        S = np.zeros((n, k))
        S[held] = S_held
        J = c.jac(0.0, y, q)
        rhs_p = c.dfdp(0.0, y, q)[np.ix_(free, cols)] + J[np.ix_(free, held)] @ S_held
        S[free] = -np.linalg.solve(J[np.ix_(free, free)], rhs_p)
        return S

    resolved = as_regimen(regimen).resolve(model, p)

    # the sensitivity columns follow the states one after the other (z = y, S[:, 0], S[:, 1], ...),
    # so the Newton matrix (J on every diagonal block; d(JS)/dy left out) is banded: its
    # factorisation grows linearly with the number of parameters. Entry (i, j) of block b goes
    # to row i - j + n - 1, column b n + j of LSODA's packed band storage.

    def rhs(t, z):
        y = z[:n]
        dS = c.jac(t, y, q) @ z[n:].reshape(k, n).T + c.dfdp(t, y, q)[:, cols]
        return np.concatenate([c.rhs(t, y, q), dS.T.ravel()])

    packed_at: list[np.ndarray] = []  # (rows, columns) of the band storage, on the scipy path's first use

    def jac(t, z):
        if not packed_at:
            i, j = np.divmod(np.arange(n * n), n)
            packed_at.extend([np.tile(i - j + n - 1, k + 1), (j[None, :] + n * np.arange(k + 1)[:, None]).ravel()])
        packed_rows, packed_cols = packed_at
        packed = np.zeros((2 * n - 1, n * (k + 1)))
        packed[packed_rows, packed_cols] = np.tile(c.jac(t, z[:n], q).ravel(), k + 1)
        return packed

    native = _native_sensitivities(model, method)
    pscale = np.where(p[cols] != 0, np.abs(p[cols]), 1.0)

    def native_segment(z, seg, which=np.arange(k)):
        """``segment`` for the columns ``which`` (z holds only theirs), the error norm over all k."""
        m = len(which)
        Y, S, _, failed = native.sensitivities(np.asarray(q, float), z[:n], z[n:].reshape(m, n).T, cols[which],
                                               pscale[which], seg - seg[0], rtol, atol, 10 * _MAX_STEPS, norm_columns=k)
        if failed is not None:
            raise SimulationError(f"compiled sensitivity integration failed at day {seg[0] + failed:g} "
                                  f"(between day {seg[0]:g} and {seg[-1]:g})")
        return np.concatenate([Y, S.transpose(0, 2, 1).reshape(len(seg), n * m)], axis=1)

    def segment(z, seg):
        if native is not None:
            return native_segment(z, seg)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ODEintWarning)
            sol, info = odeint(rhs, z, seg, Dfun=jac, ml=n - 1, mu=n - 1, tfirst=True, rtol=rtol, atol=atol,
                               mxstep=_MAX_STEPS, full_output=True)
        if info["message"] != "Integration successful." or not np.all(np.isfinite(sol)):
            raise SimulationError(
                f"sensitivity integration failed between day {seg[0]:g} and {seg[-1]:g}: {info['message']}")
        return sol

    y0, S0 = _initial_with_sensitivity(model, pset, initial, age, names, steady_sensitivity, segment)
    # doses add to states only (indices below n); they do not depend on p, so S does not jump
    moving = np.arange(k) if native is None else moving_columns(model, cols, y0, S0, resolved)
    if moving.size == k:
        out = integrate_across_doses(np.concatenate([y0, S0.T.ravel()]), grid, resolved, segment)
        states, S = out[:, :n], out[:, n:].reshape(grid.size, k, n).transpose(0, 2, 1)
    else:  # the columns that stay 0 are not integrated (the steps are the same: see native_segment)
        out = integrate_across_doses(np.concatenate([y0, S0[:, moving].T.ravel()]), grid, resolved,
                                     lambda z, seg: native_segment(z, seg, moving))
        states, S = out[:, :n], np.zeros((grid.size, n, k))
        S[:, :, moving] = out[:, n:].reshape(grid.size, moving.size, n).transpose(0, 2, 1)
    if not outputs:
        return Sensitivities(grid, states, S, model.state_names, names, p[cols])
    dgdy, dgdp = output_jacobians(model)(grid, states, p)
    return Sensitivities(grid, states, S, model.state_names, names, p[cols], c.output_names,
                         c.outputs(grid, states, q), dgdy @ S + dgdp[:, :, cols])


_MAX_STEPS = 200_000


def moving_columns(model: Model, cols: np.ndarray, y0: np.ndarray, S0: np.ndarray, resolved) -> np.ndarray:
    """Positions in ``cols`` of the sensitivity columns that can leave 0 on a run from ``y0`` with the doses
    ``resolved``; the others are exactly 0 throughout and need no integration.

    The states that stay 0 are the largest set Z of states that start at 0 and get no dose, whose
    right-hand sides vanish identically with Z at 0 (symbolically: ``y_Z = 0`` is then invariant; a drug
    that is never given, cells and vesicles of a therapy not given, and what only they feed). The
    sensitivity to p_j stays 0 if it starts at 0 and df/dp_j vanishes identically with Z at 0: then
    dS_j/dt = J S_j, linear and homogeneous. Where sympy does not reduce an expression to 0 the column
    is integrated (the safe side).
    """
    dosed = {r.state for r in resolved}
    start = frozenset(i for i in np.flatnonzero(y0 == 0.0).tolist() if i not in dosed)
    key = (model.compiled.key, start)
    if key not in _STAYING_ZERO:
        _STAYING_ZERO[key] = _staying_zero(model, start)
    zero_cols = _STAYING_ZERO[key]
    return np.array([c for c, j in enumerate(cols) if int(j) not in zero_cols or np.any(S0[:, c] != 0.0)],
                    dtype=int)


_STAYING_ZERO: dict[tuple, frozenset[int]] = {}


def _staying_zero(model: Model, start: frozenset[int]) -> frozenset[int]:
    """Parameters (model indices) whose df/dp vanishes with the states that stay 0 from ``start``."""
    import sympy as sp

    from ..compile import symbolic_pieces

    pieces = symbolic_pieces(model)
    zero = set(start)
    changed = True
    while changed:  # the largest invariant set: drop states that a state outside it feeds
        subs = {sp.Symbol(f"y{i}"): 0 for i in zero}
        keep = {i for i in zero if pieces.rhs[i].xreplace(subs) == 0}
        changed = keep != zero
        zero = keep
    subs = {sp.Symbol(f"y{i}"): 0 for i in zero}
    moving = {j for (_, j), e in zip(pieces.dfdp_nonzero, pieces.dfdp_entries) if e.xreplace(subs) != 0}
    return frozenset(set(range(pieces.n_params)) - moving)


def _native_sensitivities(model: Model, method: str):
    """The compiled engine with sensitivities for ``method`` "auto"/"rodas", or None (scipy path)."""
    if method == "LSODA":
        return None
    from ..native import NativeUnavailable, native_model

    try:
        engine = native_model(model, sensitivities=True)
        if not engine.time_dependent:
            return engine
        reason = "the model's right-hand side depends on time (the compiled sensitivities need an autonomous one)"
    except NativeUnavailable as exc:
        reason = str(exc)
    if method == "rodas":
        raise SimulationError(f"method 'rodas' needs the compiled sensitivity engine: {reason}")
    return None


def _initial_with_sensitivity(model, pset, initial, age, names, steady_sensitivity, segment):
    """Initial state and its sensitivities: integrated from the start age for ``"healthy"``
    (the start state by the implicit function theorem, ``F_prim_start`` held), then the
    quasi-steady state at the reduced pool for ``"poi"``; zero for a given state."""
    n, k = len(model.states), len(names)
    y0 = initial_state(model, initial, pset, age)
    if not isinstance(initial, str):
        return y0, np.zeros((n, k))
    frozen, sinks = frozen_and_sinks(model)
    held = np.flatnonzero(frozen)
    reserve = reserve_state(pset)
    if not has_natural_history(model):
        return y0, steady_sensitivity(y0, np.zeros((held.size, k)))
    if not set(names) & {model.parameter_names[i] for i in natural_history_parameters(model)}:
        # the untreated course does not depend on these parameters: its sensitivities are 0 from
        # the start state on (no integration; the healthy state is the cached one)
        y, S = (y0 if initial == "healthy" else healthy_state(model, pset, age)), np.zeros((n, k))
    else:
        a0 = start_age(pset)
        age = reference_age(pset) if age is None else float(age)
        start = healthy_state(model, pset, a0)
        S_held = np.zeros((held.size, k))
        if "F_prim_start" in names:  # d F_prim(start) / d F_prim_start = 1 (declared units)
            S_held[list(held).index(model.index[reserve]), names.index("F_prim_start")] = 1.0
        S = steady_sensitivity(start, S_held)
        y = start
        if age > a0:
            out = segment(np.concatenate([start, S.T.ravel()]), np.array([0.0, (age - a0) * DAYS_PER_YEAR]))[-1]
            y, S = out[:n], out[n:].reshape(k, n).T.copy()
    S[sinks] = 0.0
    if initial == "healthy":
        return y0, S
    fraction = pset["poi_reserve_fraction"].value
    pool = list(held).index(model.index[reserve])
    S_held = S[held].copy()
    S_held[pool] *= fraction
    if "poi_reserve_fraction" in names:  # d (f F_prim) / d f = F_prim
        S_held[pool, names.index("poi_reserve_fraction")] += y[model.index[reserve]]
    return y0, steady_sensitivity(y0, S_held)


# ----------------------------------------------------------------------------- endpoints
def endpoint_sensitivity(
    model: Model,
    endpoint: str | Endpoint,
    regimen=None,
    params: Mapping[str, Any] | None = None,
    parameters: Sequence[str] | None = None,
    initial: Any = "healthy",
    age: float | None = None,
    step: float = FD_STEP,
    rtol: float = 1e-8,
    atol: float = 1e-10,
) -> pd.DataFrame:
    """Sensitivity of one endpoint to every parameter (or to ``parameters``).

    A value at a day (``"AMH@90"``) and an area (``"AUC:AMH@0-180"``) are linear in the
    trajectory: their derivative is the endpoint evaluated on the sensitivity trajectory
    (for the AUC the same trapezoid on the same 1-day grid), exact up to the solver's
    tolerance; method ``"forward sensitivities"``. Threshold endpoints (``"FSH<25@0-365"``,
    ``"resumed:E2>50@0-180"``) are step functions of the parameters, without a derivative;
    they (and custom endpoint objects, whose smoothness is unknown) get central differences
    over ±``step`` (relative; clipped to the parameter's bounds), marked ``"central
    differences (±5%)"``: a secant slope, zero when no threshold crossing moves within the step.

    Parameters
    ----------
    model : Model
    endpoint : str or endpoint object
        See :mod:`poi_ode.predict.endpoints`.
    regimen, params, initial, age
        As :func:`~poi_ode.simulate`.
    parameters : list of str, optional
        Default: every model parameter.
    step : float
        Relative step of the central differences for non-differentiable endpoints.
    rtol, atol : float
        Solver tolerances.

    Returns
    -------
    pandas.DataFrame
        ``parameter``, ``value`` and ``unit`` (the parameter set's), ``derivative`` (endpoint unit
        per parameter unit), ``normalized`` (d ln E / d ln p; NaN if E is 0) and ``method``;
        largest |normalized| first. ``frame.attrs`` holds ``endpoint``, ``endpoint_value`` and
        ``endpoint_unit``.

    Raises
    ------
    ParameterError
        For an unreadable endpoint, an unknown variable or parameter (named), or a bad step.
    """
    from ..predict.endpoints import AUC, At, parse_endpoint
    from ..simulate import Trajectory, simulate
    from ..units import conversion_factor

    ep = parse_endpoint(endpoint)
    unit = ep.unit(model)
    pset = resolve_parameters(model, params)
    names = _columns(model, parameters)
    if not 0 < step < 1:
        raise ParameterError(f"step must be a relative step between 0 and 1, got {step!r}")
    times = np.array(sorted({0.0, *(float(t) for t in ep.times(model))}))
    doses = as_regimen(regimen)
    if isinstance(ep, (At, AUC)):
        sens = forward(model, doses, times, pset, names, initial, age, rtol, atol)
        assert sens.outputs is not None and sens.S_outputs is not None  # forward() always fills them
        tr = Trajectory(sens.time, sens.states, sens.outputs, sens.state_names, sens.output_names, model.units(),
                        model.name, doses, pset)
        value = ep(tr)
        per_declared = np.array([ep(replace(tr, states=sens.S[:, :, j], outputs=sens.S_outputs[:, :, j]))
                                 for j in range(len(names))])
        derivative = per_declared * np.array([conversion_factor(pset[n].unit, model.parameter(n).unit) for n in names])
        method = "forward sensitivities"
    else:
        def run(ps) -> float:
            return ep(simulate(model, doses, times=times, params=ps, initial=initial, age=age, rtol=rtol, atol=atol))

        value = run(pset)
        derivative = np.full(len(names), np.nan)
        for j, name in enumerate(names):
            q = pset[name]
            lo, hi = max(q.value * (1 - step), q.lower), min(q.value * (1 + step), q.upper)
            if hi > lo:
                derivative[j] = (run(pset.with_values({name: hi})) - run(pset.with_values({name: lo}))) / (hi - lo)
        method = f"central differences (±{step:.0%})"
    values = np.array([pset[n].value for n in names])
    with np.errstate(divide="ignore", invalid="ignore"):
        normalized = derivative * values / value if value != 0 else np.full(len(names), np.nan)
    frame = _ranked({"parameter": names, "value": values, "unit": [pset[n].unit for n in names],
                     "derivative": derivative, "normalized": normalized, "method": method}, "normalized")
    frame.attrs.update(endpoint=ep.name, endpoint_value=float(value), endpoint_unit=unit)
    return frame


# ----------------------------------------------------------------------------- Fisher information
@dataclass
class FisherInformation:
    """Fisher information ``F = J^T J`` of a fit problem's standardised residuals at one point.

    Everything is in the fit's internal scale: log10 of the value for log-scale parameters,
    the value (its unit) otherwise. Flat parameters and the covariance follow the rule of
    :class:`~poi_ode.fitting.FitResult` (:func:`~poi_ode.fitting.result.jacobian_information`).

    Attributes
    ----------
    parameters : list of str
        Free-parameter keys (``name`` or ``name__scope``).
    scales : list of str
        ``"log10"`` or ``"linear"`` per parameter.
    theta : ndarray (k,)
        The point, internal scale.
    matrix : ndarray (k, k)
        F, per internal unit squared.
    eigenvalues, eigenvectors : ndarray (k,), (k, k)
        Of F, ascending; eigenvectors in columns.
    singular_values : ndarray
        Of the residual Jacobian (their squares are the eigenvalues).
    condition : float
        Largest over smallest eigenvalue; inf when F is singular.
    covariance : ndarray (k, k)
        Cramér-Rao bound: inverse of F over the identifiable parameters; NaN rows and columns
        for flat ones.
    stderr : ndarray (k,)
        Square roots of its diagonal (internal scale; NaN for flat parameters).
    flat : list of str
        Parameters along a direction with singular value below 1e-8 of the largest.
    method : str
        How the residual Jacobian was obtained.
    """

    parameters: list[str]
    scales: list[str]
    theta: np.ndarray
    matrix: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    singular_values: np.ndarray
    condition: float
    covariance: np.ndarray
    stderr: np.ndarray
    flat: list[str]
    method: str

    def frame(self) -> pd.DataFrame:
        """parameter, scale, internal value, Cramér-Rao standard error, flat."""
        import pandas as pd

        return pd.DataFrame({"parameter": self.parameters, "scale": self.scales, "internal_value": self.theta,
                             "stderr_internal": self.stderr, "flat": [p in self.flat for p in self.parameters]})

    def weak_directions(self, ratio: float = 1e-6) -> list[str]:
        """Eigen-directions with eigenvalue below ``ratio`` of the largest, as readable combinations.

        Each line gives the eigenvalue relative to the largest and the parameters loading
        on the direction with |component| > 0.1 (internal scale).
        """
        top = max(float(self.eigenvalues[-1]), 1e-300)
        lines = []
        for w, v in zip(self.eigenvalues, self.eigenvectors.T):
            if w < ratio * top:
                terms = " ".join(f"{c:+.2f} {p}" for c, p in sorted(zip(v, self.parameters), key=lambda x: -abs(x[0]))
                                 if abs(c) > 0.1)
                lines.append(f"eigenvalue {max(w, 0.0) / top:.1e} of the largest: {terms}")
        return lines


def fisher_information(
    problem: FitProblem,
    at: np.ndarray | Sequence[float] | FitResult | None = None,
    *,
    data_only: bool = False,
) -> FisherInformation:
    """Fisher information of a fit problem from its analytic residual Jacobian.

    Parameters
    ----------
    problem : FitProblem
        The calibration problem (:meth:`FitProblem.build`, as :func:`poi_ode.fit` builds it).
    at : array, FitResult or None
        The point: internal-scale values in the order of ``problem.free``, a
        :class:`~poi_ode.fitting.FitResult` of this problem (its estimate), or None for the
        problem's starting values.
    data_only : bool
        Leave out the prior rows (by default they count, as in the fit's covariance).

    Returns
    -------
    FisherInformation

    Raises
    ------
    ParameterError
        If ``at`` does not match the problem's free parameters (named).

    Notes
    -----
    ``J`` is :meth:`FitProblem.jacobian` (forward sensitivities of states and outputs through
    the error model, censoring and priors); if the sensitivities cannot be integrated, the
    central-difference Jacobian of :func:`poi_ode.fit` is used and ``method`` says so.
    """
    from ..fitting.jacobian import finite_difference_jacobian, jacobian_information
    from ..fitting.result import FitResult

    keys = [f.key for f in problem.free]
    if isinstance(at, FitResult):
        theirs = [p.key for p in at.parameters]
        if theirs != keys:
            raise ParameterError(f"the fit result's free parameters {theirs} are not the problem's {keys}")
        theta = at.internal_estimate()
    else:
        theta = problem.initial_vector() if at is None else np.asarray(at, dtype=float)
        if theta.shape != (len(keys),):
            raise ParameterError(f"at has shape {theta.shape}; the problem has {len(keys)} free parameters {keys}")
    jac, method = problem.jacobian(theta), "analytic (forward sensitivities)"
    if jac is None:
        jac, method = finite_difference_jacobian(problem, theta), "central differences (sensitivities failed)"
    if data_only:
        jac = jac[: int(problem.used.sum())]
    sv, flat, cov = jacobian_information(jac)
    matrix = jac.T @ jac
    w, v = np.linalg.eigh(matrix)
    smallest = sv.min() if sv.size == len(keys) else 0.0  # fewer rows than parameters: singular
    condition = float((sv.max() / smallest) ** 2) if smallest > 0 else math.inf
    return FisherInformation(
        parameters=keys, scales=["log10" if f.scale == "log" else "linear" for f in problem.free], theta=theta,
        matrix=matrix, eigenvalues=w, eigenvectors=v, singular_values=sv, condition=condition, covariance=cov,
        stderr=np.sqrt(np.clip(np.diag(cov), 0, None)), flat=[k for k, f in zip(keys, flat) if f], method=method,
    )
