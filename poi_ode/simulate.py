"""Simulation across dose events, initial states, and the :class:`Trajectory` result."""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, NoReturn, Sequence

import numpy as np
from scipy.integrate import ODEintWarning, odeint, solve_ivp
from scipy.optimize import root

from .dosing import Dose, Regimen, as_regimen
from .errors import DosingError, ParameterError, PoiOdeError, SimulationError
from .parameters import ParameterSet
from .units import conversion_factor

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .model.core import Model

__all__ = ["simulate", "simulate_batch", "steady_state", "initial_state", "healthy_state",
           "natural_history", "start_age", "reference_age", "Trajectory", "TrajectoryBatch", "resolve_parameters"]

METHODS = ("auto", "rodas", "LSODA", "BDF", "Radau")
AGE = "age"
"""The clock state (years) of models with the follicle module."""
DAYS_PER_YEAR = 365.25
"""Days per year of age (the Julian year of the model's clock)."""


def resolve_parameters(model: "Model", params: "ParameterSet | Mapping[str, Any] | None") -> ParameterSet:
    """The parameter set to use: the model's, a copy with changes, or the one given."""
    if isinstance(params, ParameterSet):
        params.vector(model)  # checks the set against the model (cached per set and model)
        return params
    base = model.parameter_set
    if base is None:
        raise ParameterError(
            f"model {model.name!r} has no parameter set attached: pass params=ParameterSet or use load_model()"
        )
    return base.with_values(params) if params else base


# --------------------------------------------------------------------------- initial states
def _years(raw: Any, what: str) -> float:
    """``what``, a ``{value, unit}`` table (or a plain number of years), in years."""
    from .parameters import parse_number as parse

    if isinstance(raw, Mapping):
        return parse(raw.get("value"), what) * conversion_factor(raw.get("unit", "year"), "year")
    return parse(raw, what)


def reserve_state(params: ParameterSet) -> str:
    """The primordial pool's state (``[natural_history] state``, default ``F_prim``)."""
    return params.info.get("natural_history", {}).get("state", "F_prim")


def start_age(params: ParameterSet) -> float:
    """Age (years) at which the set's natural history starts (``[natural_history] start_age``)."""
    history = params.info.get("natural_history", {})
    if "start_age" not in history:
        raise ParameterError(f"the {params.species} set states no [natural_history] start_age")
    return _years(history["start_age"], "start_age")


def reference_age(params: ParameterSet) -> float:
    """The set's reference age (years): the default age of ``"healthy"`` and ``"poi"`` states."""
    ref = params.info.get("reference_age", {})
    return _years(ref, "reference_age") if ref else 30.0


def _start_state(model: "Model", pset: ParameterSet) -> np.ndarray:
    """The state at the start age: primordial pool at ``F_prim_start``, the rest at quasi-steady state."""
    reserve = reserve_state(pset)
    fixed: dict[str, float] = {}
    if reserve in model.index and "F_prim_start" in model.parameter_names:
        fixed[reserve] = pset["F_prim_start"].in_unit(model.states[model.index[reserve]].unit)
    if AGE in model.index:
        fixed[AGE] = start_age(pset)
    return steady_state(model, pset, fixed)



def healthy_state(model: "Model", params: "ParameterSet | Mapping[str, Any] | None" = None,
                  age: float | None = None) -> np.ndarray:
    """The untreated state at ``age`` (years), integrated from the set's start age.

    At the start age (birth for women) the primordial pool is the parameter
    ``F_prim_start`` and every other state is at quasi-steady state; the model then runs
    untreated to ``age``, so a woman started at 20 y and one started at 30 y agree at 30 y.
    Cumulative sinks are reset to 0. Results are cached per age and values of the parameters
    the untreated course depends on (:func:`natural_history_parameters`).
    A model without the follicle module has no natural history: its quasi-steady state.
    """
    pset = resolve_parameters(model, params)
    if not has_natural_history(model):
        return steady_state(model, pset, {})
    key = _healthy_key(model, pset, age)
    if key in _HEALTHY_CACHE:
        return _HEALTHY_CACHE[key].copy()
    a0, age = key[2], key[3]
    y = _start_state(model, pset)
    if age > a0:
        y = simulate(model, None, times=[0.0, (age - a0) * DAYS_PER_YEAR], params=pset, initial=y,
                     rtol=HEALTHY_RTOL, atol=HEALTHY_ATOL).states[-1].copy()
    return _store_healthy(model, key, y).copy()


def has_natural_history(model: "Model") -> bool:
    return AGE in model.index and "F_prim_start" in model.parameter_names


def _healthy_key(model: "Model", pset: ParameterSet, age: float | None) -> tuple:
    """Cache key of a healthy state: model, natural-history parameter values, start age, age."""
    a0 = start_age(pset)
    age = reference_age(pset) if age is None else float(age)
    if not math.isfinite(age) or age < a0:
        raise ParameterError(f"age {age!r} y is before the start of the {pset.species} natural history ({a0:g} y)")
    return (model.compiled.key, pset.vector(model)[natural_history_parameters(model)].tobytes(), a0, age)


def _store_healthy(model: "Model", key: tuple, y: np.ndarray) -> np.ndarray:
    """Cache an integrated healthy state: the age exact (not integrated round-off), sinks at 0."""
    y = np.array(y, dtype=float)
    y[model.index[AGE]] = key[3]
    y[frozen_and_sinks(model)[1]] = 0.0
    if len(_HEALTHY_CACHE) >= HEALTHY_CACHE_SIZE:
        _HEALTHY_CACHE.pop(next(iter(_HEALTHY_CACHE)))
    _HEALTHY_CACHE[key] = y
    return y


_HEALTHY_CACHE: dict[tuple, np.ndarray] = {}
HEALTHY_CACHE_SIZE = 512
HEALTHY_RTOL, HEALTHY_ATOL = 1e-10, 1e-12
"""Tolerances of the integration from the start age (tight: finite differences and fits use it)."""


def natural_history_parameters(model: "Model") -> np.ndarray:
    """Indices of the parameters the untreated course depends on (derived once per model).

    States that stay 0 without doses (cells, vesicles, drug exposure and what only they feed)
    are found as a fixed point: a state joins them when every inflow vanishes with them at 0.
    The course depends on the parameters left in the right-hand side with those states at 0,
    and on ``F_prim_start``; therapy and chemotherapy parameters drop out, so draws that vary
    only them share one integrated healthy state.
    """
    key = model.compiled.key
    if key not in _NH_PARAMETERS:
        import sympy as sp

        held = {AGE, reserve_state(model.parameter_set) if model.parameter_set is not None else "F_prim"}
        zero = {s.name for s in model.states if s.name not in held and not model.state_flows(s.name)[0]}
        changed = True
        while changed:
            subs = {sp.Symbol(n, real=True, nonnegative=True): 0 for n in zero}
            changed = False
            for s in model.states:
                if s.name in zero or s.name in held:
                    continue
                inflows = model.state_flows(s.name)[0]
                if all(model.expand(f.rate).xreplace(subs) == 0 for f in inflows):
                    zero.add(s.name)
                    changed = True
        subs = {sp.Symbol(n, real=True, nonnegative=True): 0 for n in zero}
        used = set().union(*(e.xreplace(subs).free_symbols for e in model.rhs_expressions()))
        names = {sym.name for sym in used} | {"F_prim_start"}
        _NH_PARAMETERS[key] = np.array([i for i, n in enumerate(model.parameter_names) if n in names], dtype=int)
    return _NH_PARAMETERS[key]


_NH_PARAMETERS: dict[str, np.ndarray] = {}


def natural_history(
    model: "Model",
    until_age: float,
    params: "ParameterSet | Mapping[str, Any] | None" = None,
    step_days: float = 30.0,
    from_age: float | None = None,
) -> "Trajectory":
    """The untreated course from ``from_age`` (default: the start age) to ``until_age`` (years).

    Returns a :class:`Trajectory` with ``time`` in days since ``from_age`` and the state
    ``age`` in years; cumulative sinks (atretic, ovulated) count from ``from_age``.
    """
    pset = resolve_parameters(model, params)
    a0 = start_age(pset) if from_age is None else float(from_age)
    span = (float(until_age) - a0) * DAYS_PER_YEAR
    if not span > 0:
        raise ParameterError(f"until_age {until_age!r} must be after the start age {a0:g} y")
    n = max(int(math.ceil(span / step_days)), 1)
    return simulate(model, None, times=np.linspace(0.0, span, n + 1), params=pset,
                    initial=healthy_state(model, pset, a0), rtol=HEALTHY_RTOL, atol=HEALTHY_ATOL)


def frozen_and_sinks(model: "Model") -> tuple[np.ndarray, np.ndarray]:
    """Masks of states held at their value in a steady state (no inflow, a clock such as age, or
    the non-renewing primordial reserve, whose only possible inflow is the rescue of follicles hit
    by chemotherapy) and of pure sinks (start at 0)."""
    c = model.compiled
    reserve = reserve_state(model.parameter_set) if model.parameter_set is not None else "F_prim"
    key = (c.key, reserve)
    if key not in _FROZEN_AND_SINKS:  # (read-only: shared by every caller)
        frozen = np.array(c.no_inflow) | np.array(c.clocks)
        if reserve in model.index:
            frozen[model.index[reserve]] = True
        sinks = np.array(c.sinks)
        frozen.flags.writeable = sinks.flags.writeable = False
        _FROZEN_AND_SINKS[key] = (frozen, sinks)
    return _FROZEN_AND_SINKS[key]


_FROZEN_AND_SINKS: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}


def steady_state(
    model: "Model", params: "ParameterSet | Mapping[str, Any] | None" = None, y_fixed: Mapping[str, float] | None = None
) -> np.ndarray:
    """The quasi-steady state with non-renewing pools held fixed.

    States with no inflow (the primordial pool, dose compartments, chemotherapy exposure)
    keep the value given in ``y_fixed`` (0 if absent); cumulative sinks start at 0; every
    other state is solved from dx/dt = 0, starting from a relaxation run.

    Raises
    ------
    SimulationError
        If no steady state is found; the message names the state with the largest residual.
    """
    pset = resolve_parameters(model, params)
    c = model.compiled
    vector = pset.vector(model)
    key = (c.key, vector.tobytes(), tuple(sorted((y_fixed or {}).items())))
    if key in _STEADY_CACHE:
        return _STEADY_CACHE[key].copy()
    p = c.prepare(vector)
    frozen, sinks = frozen_and_sinks(model)
    free = ~(frozen | sinks)
    y = np.zeros(len(model.states))
    for name, value in (y_fixed or {}).items():
        y[model.index[name]] = value
    # neutral start: relative tones and the follicles' FSH responsiveness at 1 (healthy)
    for i, s in enumerate(model.states):
        if free[i] and s.unit == "1" and s.name.startswith(("C_", "R_")):
            y[i] = 1.0
    mask = free.astype(float)
    held = y.copy()

    def relax(t, x):
        return c.rhs(t, x, p) * mask

    def relax_jac(t, x):
        return c.jac(t, x, p) * mask[:, None]

    horizon = 10.0 * _slowest_time_scale(model, pset)
    idx = np.flatnonzero(free)

    def residual(z):
        x = y.copy()
        x[idx] = z
        return c.rhs(0.0, x, p)[idx]

    def residual_jac(z):
        x = y.copy()
        x[idx] = z
        return c.jac(0.0, x, p)[np.ix_(idx, idx)]

    def imbalance(z) -> np.ndarray:
        """Net rate relative to the state's throughput (sum of its in- and outflows), with an
        absolute floor of 1e-12 units/day for states that are empty at rest."""
        x = y.copy()
        x[idx] = z
        throughput = np.abs(c.incidence) @ c.flows(0.0, x, p)
        return np.abs(c.rhs(0.0, x, p)[idx]) / (throughput[idx] + 1e-5)

    def balanced(z: np.ndarray) -> bool:
        """Every free state at rest (net rate within 1e-7 of its throughput) and none negative."""
        rel = imbalance(z)
        return not (rel.size and (rel.max() > 1e-7 or np.any(z < -1e-9 * np.maximum(np.abs(z), 1.0))))

    best = _warm_newton(_reference_state(model, pset, y_fixed), idx, residual, residual_jac)
    if best is not None and not balanced(best):
        best = None  # Newton settled where the rates do not balance: relax from scratch instead
    message = "Newton from the reference steady state"
    for _attempt in range(0 if best is not None else 3):  # relax, polish with Newton; relax longer if that fails
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ODEintWarning)
            y = odeint(relax, y, [0.0, horizon], Dfun=relax_jac, tfirst=True, rtol=1e-6, atol=1e-12, mxstep=50000)[-1]
        y[~free] = held[~free]  # the solver's round-off must not move held states
        sol = root(residual, y[idx], jac=residual_jac, method="hybr", options={"xtol": 1e-12, "maxfev": 5000})
        message = str(sol.message).strip()
        candidates = [sol.x, y[idx]] if np.all(np.isfinite(sol.x)) else [y[idx]]
        best = min(candidates, key=lambda z: float(np.max(imbalance(z), initial=0.0)))
        rel = imbalance(best)
        if not rel.size or rel.max() <= 1e-7:
            break
    assert best is not None  # found by Newton, or set by the relaxation loop (which then ran)
    rel = imbalance(best)
    if not balanced(best):
        worst = model.states[idx[int(np.argmax(rel))]].name
        raise SimulationError(
            f"no steady state found for model {model.name!r}: {message} "
            f"(worst state {worst!r}, net rate {rel.max():.2g} of its throughput)"
        )
    z = np.maximum(best, 0.0)
    z[z < 1e-18 * max(1.0, float(np.abs(y).max()))] = 0.0  # round-off of states that are 0 at rest
    y[idx] = z
    if len(_STEADY_CACHE) >= 256:
        _STEADY_CACHE.pop(next(iter(_STEADY_CACHE)))
    _STEADY_CACHE[key] = y.copy()
    return y


_STEADY_CACHE: dict[tuple, np.ndarray] = {}


def _reference_state(model: "Model", pset: ParameterSet, y_fixed) -> np.ndarray | None:
    """The steady state under the model's own parameter set (same held values), as a start for
    Newton on other sets; None for the model's own set or when there is none. A fixed start
    keeps the result independent of the order of earlier solves (serial and parallel runs agree)."""
    base = model.parameter_set
    if base is None or base is pset or np.array_equal(base.vector(model), pset.vector(model)):
        return None
    try:
        return steady_state(model, base, y_fixed)
    except SimulationError:
        return None


def _warm_newton(start, idx, residual, residual_jac, iterations: int = 30) -> np.ndarray | None:
    """Newton from a nearby steady state (parameter draws lie close to the reference).

    Plain Newton steps with the analytic Jacobian until the step is below 1e-12 of each
    state (plus 1e-13 absolute); the caller checks the balance. None if it does not converge, leaves the finite
    range or turns negative (the caller then relaxes from scratch).
    """
    if start is None:
        return None
    z = start[idx].copy()
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            try:
                step = np.linalg.solve(residual_jac(z), residual(z))
            except np.linalg.LinAlgError:
                return None
            z = z - step
            if not np.all(np.isfinite(z)):
                return None
            if np.all(np.abs(step) <= 1e-12 * np.abs(z) + 1e-13):  # round-off of states that are 0 at rest
                break
        else:
            return None
    return None if np.any(z < -1e-9 * np.maximum(np.abs(z), 1.0)) else z


def _slowest_time_scale(model: "Model", pset: ParameterSet) -> float:
    """Relaxation scale (days): total follicle residence time plus the longest half-life."""
    taus = [pset[d.name].in_unit("day") for d in model.parameters if d.name.startswith("tau_")]
    halves = [pset[d.name].in_unit("day") for d in model.parameters if d.name.startswith("t_half_")]
    return max(sum(taus) + max(halves, default=0.0), 10.0)


def initial_state(
    model: "Model",
    initial: "str | Sequence[float] | Mapping[str, float] | np.ndarray" = "healthy",
    params: "ParameterSet | Mapping[str, Any] | None" = None,
    age: float | None = None,
) -> np.ndarray:
    """The state at time 0.

    Parameters
    ----------
    initial : {"healthy", "poi"}, array or mapping
        ``"healthy"``: the untreated individual at ``age``, integrated from the set's start
        age (:func:`healthy_state`); ``"poi"``: that state with the primordial pool reduced
        by the parameter ``poi_reserve_fraction`` and the other pools at quasi-steady state; an array
        (state order) or a mapping of state values (missing states 0, a missing ``age`` the
        reference age).
    age : float, optional
        Age in years (default: the set's reference age).
    """
    pset = resolve_parameters(model, params)
    if isinstance(initial, str):
        if initial not in ("healthy", "poi"):
            raise ParameterError(f"initial must be 'healthy', 'poi', an array or a mapping, not {initial!r}")
        y = healthy_state(model, pset, age)
        if initial == "healthy":
            return y
        reserve = reserve_state(pset)
        fixed = {}
        if reserve in model.index:
            fixed[reserve] = y[model.index[reserve]] * pset["poi_reserve_fraction"].value
        if AGE in model.index:
            fixed[AGE] = y[model.index[AGE]]
        return steady_state(model, pset, fixed)
    if isinstance(initial, Mapping):
        y = np.zeros(len(model.states))
        if AGE in model.index and AGE not in initial:  # an adult unless said otherwise
            y[model.index[AGE]] = reference_age(pset) if age is None else float(age)
        for name, value in initial.items():
            if name not in model.index:
                raise ParameterError(f"initial state names unknown state {name!r}")
            y[model.index[name]] = value
    else:
        y = np.array(initial, dtype=float)
        if y.shape != (len(model.states),):
            raise ParameterError(f"initial state has shape {y.shape}; the model has {len(model.states)} states")
    bad = np.flatnonzero(~np.isfinite(y) | (y < 0))
    if bad.size:
        raise ParameterError(f"initial state {model.states[bad[0]].name!r} is {y[bad[0]]} (must be finite and >= 0)")
    return y


# --------------------------------------------------------------------------- simulation
@dataclass
class Trajectory:
    """The result of :func:`simulate`.

    Attributes
    ----------
    time : ndarray, shape (n,)
        Output times, days. At a dose time the value after the dose is reported.
    states : ndarray, shape (n, n_states)
        State values in their units (``units``).
    outputs : ndarray, shape (n, n_outputs)
        Derived outputs (the model's assignments: antral count, paracrine effect...).
    stats : dict
        Solver counts; ``method`` and ``engine`` say what ran (``engine`` is
        ``"compiled C (RODAS4)"`` or ``"python (scipy LSODA)"``, ``BDF``, ``Radau``), and
        ``fallback`` why the compiled engine's result was replaced.
    """

    time: np.ndarray
    states: np.ndarray
    outputs: np.ndarray
    state_names: tuple[str, ...]
    output_names: tuple[str, ...]
    units: dict[str, str]
    model_name: str
    regimen: Regimen
    parameters: ParameterSet
    stats: dict[str, Any] = field(default_factory=dict)
    _rerun: "_Rerun | None" = field(default=None, repr=False, compare=False)

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.state_names:
            return self.states[:, self.state_names.index(name)]
        if name in self.output_names:
            return self.outputs[:, self.output_names.index(name)]
        raise KeyError(f"{name!r} is neither a state nor an output; known: {', '.join(self.variables)}")

    @property
    def variables(self) -> tuple[str, ...]:
        return self.state_names + self.output_names

    def __getstate__(self) -> dict[str, Any]:
        """Pickles and copies keep the values, not the means to simulate again (the model)."""
        return {**self.__dict__, "_rerun": None}

    def at(self, time: float, name: str) -> float:
        """Value of ``name`` (a state or an output) at day ``time``; per simulation for a batch.

        At an output time (within 1e-9 day) the stored value is returned as is. Between output
        times, a trajectory made by :func:`simulate` is simulated again from day 0 with ``time``
        added to its output times (same initial state, doses, parameters, solver and
        tolerances), so the value has the accuracy of the original run; values found are
        kept, so asking again for that day is free.

        Parameters
        ----------
        time : float
            Day, from 0 to the last output time.
        name : str
            A state or output name (:attr:`variables`).

        Raises
        ------
        KeyError
            If ``name`` is neither a state nor an output.
        ParameterError
            If ``time`` is outside the simulated span, or between output times of a result that
            cannot be simulated again (a batch, or a trajectory not made by :func:`simulate`);
            the message gives the span and how to ask for that day.
        """
        values = self[name]  # the name first: an unknown name is a KeyError at any time
        time = float(time)
        i = int(np.searchsorted(self.time, time + 1e-9, side="right")) - 1
        if i >= 0 and abs(self.time[i] - time) <= 1e-9:
            return scalar_or_array(values[..., i])
        end = float(self.time[-1])
        rerun = getattr(self, "_rerun", None)
        if not (0.0 <= time <= end):
            raise ParameterError(
                f"day {time:g} is outside the simulated span 0-{end:g} days of this trajectory: simulate again "
                f"with t_end (or the last of times) at least {time:g}"
            )
        if rerun is None:
            raise ParameterError(
                f"day {time:g} is not an output time of this result (output times {float(self.time[0]):g}-{end:g} "
                f"days, {self.time.size} of them) and it cannot be simulated again (a batch, or a copy): include "
                f"{time:g} in times="
            )
        states, outputs = rerun(self.time, time)
        if name in self.state_names:
            return float(states[self.state_names.index(name)])
        return float(outputs[self.output_names.index(name)])

    def to_frame(self, variables: Sequence[str] | None = None) -> "pd.DataFrame":
        """Tidy table: time, variable, value, unit (one row per time and variable)."""
        import pandas as pd

        names = list(variables or self.variables)
        frames = [
            pd.DataFrame({"time": self.time, "variable": n, "value": self[n], "unit": self.units.get(n, "")})
            for n in names
        ]
        return pd.concat(frames, ignore_index=True)

    def plot(self, variables: Sequence[str] = ("AMH", "FSH", "E2", "F_prim"), ax=None, **kwargs):
        """Plot variables against time (one panel each); returns the matplotlib figure."""
        from .plotting import plot_trajectory

        return plot_trajectory(self, variables, ax=ax, **kwargs)


def scalar_or_array(value):
    """A float for one trajectory, the array for a batch."""
    return float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=float)


def output_times(t_end: float | None, times: Sequence[float] | np.ndarray | None) -> np.ndarray:
    """The output grid (days) of a simulation: ``times`` checked, or 0 to ``t_end`` (also used by the fits)."""
    if times is None and t_end is None:
        raise ParameterError("give t_end or times")
    if times is not None:
        grid = np.asarray(times, dtype=float)
        if grid.ndim != 1 or grid.size == 0:
            raise ParameterError("times must be a non-empty one-dimensional sequence of days")
        if not np.all(np.isfinite(grid)):
            raise ParameterError(f"times contain a non-finite value at position "
                                 f"{int(np.flatnonzero(~np.isfinite(grid))[0])}")
        if grid[0] < 0:
            raise ParameterError(f"times start at {grid[0]}; the simulation starts at day 0")
        steps = np.diff(grid)
        if np.any(steps <= 0):
            k = int(np.flatnonzero(steps <= 0)[0])
            raise ParameterError(f"times are not strictly increasing: {grid[k]} then {grid[k + 1]} at position {k + 1}")
        if t_end is not None and not math.isclose(float(t_end), grid[-1]):
            raise ParameterError(f"t_end {t_end} disagrees with the last of times {grid[-1]}")
        return grid
    t_end = float(t_end)  # type: ignore[arg-type]
    if not math.isfinite(t_end) or t_end <= 0:
        raise ParameterError(f"t_end must be a positive number of days, got {t_end}")
    n = int(min(max(math.ceil(t_end) + 1, 101), 2001))
    return np.linspace(0.0, t_end, n)


def simulate(
    model: "Model",
    regimen: "Regimen | Sequence[Dose] | Dose | None" = None,
    t_end: float | None = None,
    times: Sequence[float] | np.ndarray | None = None,
    params: "ParameterSet | Mapping[str, Any] | None" = None,
    initial: "str | Sequence[float] | Mapping[str, float] | np.ndarray" = "healthy",
    age: float | None = None,
    method: str = "auto",
    rtol: float = 1e-6,
    atol: float | Sequence[float] = 1e-9,
    max_steps: int = 100_000,
) -> Trajectory:
    """Simulate ``model`` under ``regimen``.

    Parameters
    ----------
    model : Model
        From :func:`poi_ode.load_model` (or any model with a parameter set).
    regimen : Regimen, Dose or list of Dose, optional
        Doses enter as jumps of their target state; integration restarts at each.
    t_end : float, optional
        End day; output every day (at least 101, at most 2001 points). Or give ``times``.
    times : sequence of float, optional
        Strictly increasing output days (>= 0).
    params : ParameterSet or mapping, optional
        Changes to the model's parameter values (in the units the set lists), or a full set.
    initial : {"healthy", "poi"}, array or mapping
        See :func:`initial_state`.
    age : float, optional
        Age in years for ``"healthy"``/``"poi"``.
    method : {"auto", "rodas", "LSODA", "BDF", "Radau"}
        Stiff-capable solver; all use the analytic Jacobian. ``"rodas"`` is the compiled
        engine (:mod:`poi_ode.native`: generated C, RODAS4, sparse LU), which needs a C
        compiler; ``"auto"`` uses it where it builds and LSODA otherwise. Should the compiled
        engine fail on a simulation, LSODA retries it (``stats["fallback"]`` says why).
    rtol, atol : float
        Solver tolerances (``atol`` may be per state).
    max_steps : int
        Step budget per segment between doses.

    Returns
    -------
    Trajectory

    Raises
    ------
    ParameterError, DosingError
        For bad times, parameters or doses (naming the item).
    SimulationError
        If the solver fails; the message gives the day and the fastest-changing state.
    """
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, not {method!r}")
    grid = output_times(t_end, times)
    pset = resolve_parameters(model, params)
    p = pset.vector(model)
    doses = as_regimen(regimen)
    resolved = doses.resolve(model, p)
    q = model.compiled.prepare(p)
    late = [r for r in resolved if r.time > grid[-1] + 1e-12]
    if late:
        d = late[0].dose
        raise DosingError(
            f"dose of {d.agent!r} at day {d.time:g} is after the end of the simulation (day {grid[-1]:g})"
        )
    y = initial_state(model, initial, pset, age)
    return _run(model, doses, resolved, pset, q, y, grid, method, rtol, atol, max_steps)


def _run(model: "Model", doses: Regimen, resolved, pset: ParameterSet, q, y: np.ndarray, grid: np.ndarray,
         method: str, rtol: float, atol, max_steps: int) -> Trajectory:
    """Integrate from the state ``y`` at day 0 (before day-0 doses) and report on ``grid``."""
    c = model.compiled
    out, stats = None, {}
    native = _native(model, method)
    if native is not None:
        dose_t, jumps = dose_jumps(resolved, len(model.states))
        out, outputs, stats, failed = native.simulate(q, y, dose_t, jumps, grid, rtol, atol, max_steps)
        stats["method"] = "rodas"
        stats["engine"] = native_engine_name()
        if failed is not None:
            from .native import FAILURES

            out, stats = None, {"fallback": f"compiled RODAS4 failed at day {failed:.6g} "
                                            f"({FAILURES.get(stats.get('status'), 'error')}); LSODA retried"}
    if out is None:
        method = "LSODA" if method in ("auto", "rodas") else method
        stats.update({"nfe": 0, "nje": 0, "segments": 0, "method": method, "engine": python_engine_name(method)})
        out = integrate_across_doses(
            y, grid, resolved, lambda z, seg: _integrate(c, z, seg, q, method, rtol, atol, max_steps, model, stats)
        )
        outputs = c.outputs(grid, out, q)
    return Trajectory(
        time=grid,
        states=out,
        outputs=outputs,
        state_names=model.state_names,
        output_names=c.output_names,
        units=model.units(),
        model_name=model.name,
        regimen=doses,
        parameters=pset,
        stats=stats,
        _rerun=_Rerun(model, doses, resolved, pset, q, np.array(y, dtype=float), method, rtol, atol, max_steps),
    )


@dataclass
class _Rerun:
    """What :meth:`Trajectory.at` needs to re-simulate a trajectory with more output times.

    The same model, doses, parameter set, initial state (before day-0 doses), solver and
    tolerances as the original run; values found are kept per day.
    """

    model: "Model"
    doses: Regimen
    resolved: list
    pset: ParameterSet
    q: Any
    y0: np.ndarray
    method: str
    rtol: float
    atol: Any
    max_steps: int
    found: dict = field(default_factory=dict)

    def __call__(self, grid: np.ndarray, day: float) -> tuple[np.ndarray, np.ndarray]:
        """States and outputs at ``day``, integrated on ``grid`` with ``day`` added."""
        if day not in self.found:
            times = np.union1d(grid, [day])
            tr = _run(self.model, self.doses, self.resolved, self.pset, self.q, self.y0, times, self.method,
                      self.rtol, self.atol, self.max_steps)
            k = int(np.searchsorted(times, day))
            self.found[day] = (tr.states[k].copy(), tr.outputs[k].copy())
        return self.found[day]


@dataclass
class TrajectoryBatch:
    """The result of :func:`simulate_batch`: many simulations on one output grid.

    ``batch[name]`` is an array (n_sim, n_times) and ``batch.at(day, name)`` one value per
    simulation, so the endpoints of :mod:`poi_ode.predict` evaluate a whole batch at once;
    ``batch.trajectory(k)`` (or iteration) gives simulation ``k`` as a :class:`Trajectory`, or
    the :class:`~poi_ode.errors.PoiOdeError` that made it fail. Failed rows hold NaN.
    """

    time: np.ndarray
    states: np.ndarray
    outputs: np.ndarray
    state_names: tuple[str, ...]
    output_names: tuple[str, ...]
    errors: list
    regimens: list
    parameters: list
    units: dict[str, str]
    model_name: str
    stats: list

    @property
    def ok(self) -> np.ndarray:
        """Mask of the simulations that succeeded."""
        return np.array([e is None for e in self.errors], dtype=bool)

    def __len__(self) -> int:
        return len(self.errors)

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.state_names:
            return self.states[..., self.state_names.index(name)]
        if name in self.output_names:
            return self.outputs[..., self.output_names.index(name)]
        raise KeyError(f"{name!r} is neither a state nor an output")

    if TYPE_CHECKING:  # the same code as Trajectory.at, one value per simulation
        def at(self, time: float, name: str) -> np.ndarray: ...
    else:
        at = Trajectory.at

    def trajectory(self, k: int) -> "Trajectory | PoiOdeError":
        if self.errors[k] is not None:
            return self.errors[k]
        return Trajectory(time=self.time, states=self.states[k], outputs=self.outputs[k], state_names=self.state_names,
                          output_names=self.output_names, units=self.units, model_name=self.model_name,
                          regimen=self.regimens[k], parameters=self.parameters[k], stats=self.stats[k])

    def __iter__(self):
        return (self.trajectory(k) for k in range(len(self)))


def simulate_batch(
    model: "Model",
    regimens: "Sequence[Regimen | Sequence[Dose] | Dose | None]",
    times: Sequence[float] | np.ndarray,
    params: "ParameterSet | Mapping[str, Any] | None | Sequence[ParameterSet | Mapping[str, Any] | None]" = None,
    initial: "str | Sequence[float] | Mapping[str, float] | np.ndarray" = "healthy",
    age: float | None = None,
    threads: int | None = None,
    rtol: float = 1e-6,
    atol: float | Sequence[float] = 1e-9,
    max_steps: int = 100_000,
) -> TrajectoryBatch:
    """Many simulations in one call of the compiled engine (several threads where OpenMP is there).

    Parameters
    ----------
    regimens : sequence
        One regimen per simulation.
    params : parameter set or mapping, or a sequence of them (one per simulation)
        The initial state is computed once per distinct set.
    threads : int, optional
        Threads of the compiled engine (default: every core).
    times, initial, age, rtol, atol, max_steps
        As for :func:`simulate`.

    Returns
    -------
    TrajectoryBatch
        Arrays over all simulations; a simulation that fails (a bad dose, no initial state, a
        solver failure after the LSODA retry) has its error in ``errors`` and NaN values.
        Without a C compiler every simulation runs through :func:`simulate`.
    """
    grid = output_times(None, times)
    n = len(regimens)
    sets: list[Any] = list(params) if isinstance(params, (list, tuple)) else [params] * n
    if len(sets) != n:
        raise ParameterError(f"{len(sets)} parameter sets for {n} regimens")
    c = model.compiled
    states = np.full((n, grid.size, len(model.states)), np.nan)
    outputs = np.full((n, grid.size, len(c.output_names)), np.nan)
    errors: list = [None] * n
    used_sets: list = [None] * n
    used_regimens = [as_regimen(r) for r in regimens]
    stats: list = [{} for _ in range(n)]
    batch = TrajectoryBatch(grid, states, outputs, model.state_names, c.output_names, errors, used_regimens,
                            used_sets, model.units(), model.name, stats)

    def one_at_a_time(k: int, pset, y0=None, method: str = "auto") -> None:
        try:
            tr = simulate(model, used_regimens[k], times=grid, params=pset, initial=initial if y0 is None else y0,
                          age=age, rtol=rtol, atol=atol, max_steps=max_steps, method=method)
        except PoiOdeError as exc:
            errors[k] = exc
            return
        states[k], outputs[k], stats[k], used_sets[k] = tr.states, tr.outputs, tr.stats, tr.parameters

    native = _native(model, "auto")
    if native is None:
        for k in range(n):
            one_at_a_time(k, sets[k])
        return batch
    if isinstance(initial, str):
        prime_healthy_states(model, native, {id(raw): raw for raw in sets}.values(), age, threads)
    prepared: dict[int, tuple | PoiOdeError] = {}  # per distinct parameter set: (set, p, q, initial state) or its error
    jumps_of: dict[tuple, tuple] = {}
    uses: dict[int, bool] = {}
    rows, Q, Y0, dose_t, jumps = [], [], [], [], []
    for k, raw in enumerate(sets):
        try:
            if id(raw) not in prepared:
                try:
                    pset = resolve_parameters(model, raw)
                    p = pset.vector(model)
                    prepared[id(raw)] = (pset, p, np.array(c.prepare(p)), initial_state(model, initial, pset, age))
                except PoiOdeError as exc:
                    prepared[id(raw)] = exc
            entry = prepared[id(raw)]
            if isinstance(entry, PoiOdeError):
                raise entry
            pset, p, q, y0 = entry
            used_sets[k] = pset
            regimen = used_regimens[k]
            if id(regimen) not in uses:
                uses[id(regimen)] = regimen.uses_parameters(model)
            key = (id(regimen), id(raw) if uses[id(regimen)] else None)
            if key not in jumps_of:  # dose days and state jumps, shared by the sets they do not depend on
                resolved = regimen.resolve(model, p)
                late = [r for r in resolved if r.time > grid[-1] + 1e-12]
                if late:
                    raise DosingError(f"dose of {late[0].dose.agent!r} at day {late[0].dose.time:g} is after the end "
                                      f"of the simulation (day {grid[-1]:g})")
                jumps_of[key] = dose_jumps(resolved, len(y0))
        except PoiOdeError as exc:
            errors[k] = exc
            continue
        t_k, j_k = jumps_of[key]
        rows.append(k)
        Q.append(q)
        Y0.append(y0)
        dose_t.append(t_k)
        jumps.append(j_k)
    if not rows:
        return batch
    Y, O, native_stats, failed = native.simulate_batch(Q, Y0, dose_t, jumps, grid, rtol, atol, max_steps,
                                                       threads or os.cpu_count() or 1)
    states[rows], outputs[rows] = Y, O
    for b, k in enumerate(rows):
        stats[k] = {**native_stats[b], "method": "rodas", "engine": native_engine_name()}
        if failed[b] is not None:  # the LSODA retry, with its own diagnosis
            states[k], outputs[k] = np.nan, np.nan
            one_at_a_time(k, used_sets[k], Y0[b], "LSODA")
            if errors[k] is None:
                stats[k]["fallback"] = f"compiled RODAS4 failed at day {failed[b]:.6g}; LSODA retried"
    return batch


def prime_healthy_states(model: "Model", native, sets, age: float | None, threads: int | None) -> None:
    """Integrate the natural histories of many parameter sets in one batch of the compiled engine
    and cache them, as :func:`healthy_state` would one at a time. A set whose start state or
    integration fails is left out (its healthy state is then computed, or its error raised, later)."""
    if not has_natural_history(model):
        return
    c = model.compiled
    todo, keys, Q, Y0 = [], [], [], []
    for raw in sets:
        try:
            pset = resolve_parameters(model, raw)
            key = _healthy_key(model, pset, age)
            if key[3] <= key[2] or key in _HEALTHY_CACHE or key in keys:
                continue
            Y0.append(_start_state(model, pset))
        except PoiOdeError:
            continue
        todo.append(key[3] - key[2])
        keys.append(key)
        Q.append(np.array(c.prepare(pset.vector(model))))
        if len(keys) == HEALTHY_CACHE_SIZE:  # more would evict the first ones
            break
    for span in sorted(set(todo)):  # one batch per age span (usually one)
        rows = [b for b, t in enumerate(todo) if t == span]
        no_doses = [(np.zeros(0), np.zeros((0, len(model.states)))) for _ in rows]
        Y, _, _, failed = native.simulate_batch([Q[b] for b in rows], [Y0[b] for b in rows], *zip(*no_doses),
                                                np.array([0.0, span * DAYS_PER_YEAR]), HEALTHY_RTOL, HEALTHY_ATOL,
                                                100_000, threads or os.cpu_count() or 1)
        for i, b in enumerate(rows):
            if failed[i] is None:
                _store_healthy(model, keys[b], Y[i][-1])


def native_engine_name() -> str:
    """``stats["engine"]`` of a simulation the compiled engine ran."""
    from .native import ENGINE

    return ENGINE


def python_engine_name(method: str) -> str:
    """``stats["engine"]`` of a simulation scipy ran on the generated Python code."""
    return f"python (scipy {method})"


def _native(model: "Model", method: str):
    """The compiled engine for ``method`` "auto"/"rodas", or None (scipy path)."""
    if method not in ("auto", "rodas"):
        return None
    from .native import NativeUnavailable, native_model

    try:
        return native_model(model)
    except NativeUnavailable as exc:
        if method == "rodas":
            raise SimulationError(f"method 'rodas' needs the compiled engine: {exc}") from exc
        return None


def dose_jumps(resolved, n_states: int) -> tuple[np.ndarray, np.ndarray]:
    """Dose days (sorted) and the state increments at each, for the compiled engine."""
    ordered = sorted(resolved, key=lambda r: r.time)
    times = np.array([r.time for r in ordered], dtype=float)
    jumps = np.zeros((len(ordered), n_states))
    for k, r in enumerate(ordered):
        jumps[k, r.state] += r.amount
    return times, jumps


def integrate_across_doses(y0: np.ndarray, grid: np.ndarray, resolved, segment) -> np.ndarray:
    """Values on ``grid`` of a state vector integrated piecewise between dose times.

    ``segment(y, times)`` integrates from ``times[0]`` and returns the vector at every time;
    each resolved dose adds its amount to its state index at its time (day-0 doses to the
    initial vector). The value reported at a dose time is the one after the dose.
    """
    y = np.array(y0, dtype=float)
    boundaries = sorted({0.0, *[r.time for r in resolved if r.time > 0], float(grid[-1])})
    for r in resolved:
        if r.time == 0.0:
            y[r.state] += r.amount
    out = np.empty((grid.size, y.size))
    written = 0
    if grid[0] == 0.0:
        out[0] = y
        written = 1
    for a, b in zip(boundaries[:-1], boundaries[1:]):
        inside = grid[written:]
        inside = inside[(inside > a) & (inside <= b + 1e-12)]
        seg_times = np.unique(np.concatenate([[a], inside, [b]]))
        sol = segment(y, seg_times)
        y = sol[-1].copy()
        for r in resolved:
            if r.time == b:
                y[r.state] += r.amount
        for k, t in enumerate(seg_times[1:], start=1):
            if written < grid.size and abs(grid[written] - t) <= 1e-12:
                out[written] = y if t == b else sol[k]
                written += 1
    if written != grid.size:  # pragma: no cover - guarded by construction
        raise SimulationError(f"internal error: wrote {written} of {grid.size} output times")
    return out


def _integrate(c, y0, t, p, method, rtol, atol, max_steps, model, stats) -> np.ndarray:
    """Integrate one segment between events; return the states at ``t``."""
    if method == "LSODA":
        with warnings.catch_warnings():  # a failure becomes our SimulationError below
            warnings.simplefilter("ignore", ODEintWarning)
            sol, info = odeint(
                c.rhs, y0, t, args=(p,), Dfun=c.jac, tfirst=True, rtol=rtol, atol=atol,
                mxstep=max_steps, full_output=True, printmessg=False,
            )
        stats["nfe"] += int(info["nfe"][-1]) if len(info["nfe"]) else 0
        stats["nje"] += int(info["nje"][-1]) if len(info["nje"]) else 0
        stats["segments"] += 1
        finite = np.all(np.isfinite(sol), axis=1)
        if not finite.all():  # odeint may report success while its states overflowed
            bad = int(np.argmin(finite))
            _fail(model, c, sol[bad - 1] if bad else y0, p, float(t[bad - 1] if bad else t[0]),
                  f"non-finite states by day {float(t[bad]):.6g}")
        if info["message"] != "Integration successful.":
            # the day odeint reached; before a first step it may hold no value, or an uninitialised one
            reached = float(info["tcur"][-1]) if len(info["tcur"]) else float(t[0])
            if not np.isfinite(reached) or not t[0] <= reached <= t[-1]:
                reached = float(t[0])
            last = int(np.searchsorted(t, reached, side="right")) - 1  # the last output day it reached
            _fail(model, c, sol[last] if last > 0 else y0, p, reached, info["message"])
        return sol
    try:
        res = solve_ivp(
            c.rhs, (t[0], t[-1]), y0, method=method, t_eval=t, args=(p,), jac=c.jac, rtol=rtol, atol=atol,
        )
    except ValueError as exc:  # scipy's linear algebra refuses non-finite Jacobians or states
        _fail(model, c, y0, p, float(t[0]), f"{method}: {exc}")
    stats["nfe"] += int(res.nfev)
    stats["nje"] += int(res.njev)
    stats["segments"] += 1
    if not res.success or res.y.shape[1] != len(t):
        last = res.y[:, -1] if res.y.size else y0
        _fail(model, c, last, p, float(res.t[-1]) if res.t.size else float(t[0]), res.message)
    return res.y.T


def _fail(model, c, y, p, t, message) -> NoReturn:
    deriv = c.rhs(t, y, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(np.isfinite(deriv), np.abs(deriv) / np.maximum(np.abs(y), 1e-12), np.inf)
    nonfinite = np.flatnonzero(~np.isfinite(y))
    worst = int(nonfinite[0]) if nonfinite.size else int(np.nanargmax(speed))
    name = model.states[worst].name
    raise SimulationError(
        f"solver failed at day {t:.6g}: state {name!r} = {y[worst]:.6g} "
        f"changing at {deriv[worst]:.6g} {model.states[worst].unit}/day ({str(message).strip()})"
    )
