"""Local sensitivity analysis: forward sensitivity equations derived from the symbolic model.

For the chosen parameters p (declared units), ``S = dy/dp`` obeys ``dS/dt = J S + df/dp``
with the analytic Jacobian ``J`` and the analytic ``df/dp`` of the compiled model; it is
integrated together with the states across dose events (doses do not depend on p, so S does
not jump). The initial sensitivity of a computed steady state follows from the implicit
function theorem (``dy*/dp = -J_ff^-1 df_f/dp`` on the states that are solved for), and is
zero for states held fixed (the primordial pool from the reserve anchors) or given.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
from scipy.integrate import ODEintWarning, odeint

from ..dosing import as_regimen
from ..errors import ParameterError, SimulationError
from ..simulate import _frozen_and_sinks, initial_state, integrate_across_doses, resolve_parameters

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..model.core import Model

__all__ = ["forward", "Sensitivities"]


@dataclass
class Sensitivities:
    """States and their sensitivities on the output days.

    Attributes
    ----------
    time : ndarray (n_t,)
    states : ndarray (n_t, n_states)
    S : ndarray (n_t, n_states, n_params)
        d state / d parameter, in state units per declared parameter unit.
    parameters : list of str
    values : ndarray (n_params,)
        Parameter values (declared units).
    """

    time: np.ndarray
    states: np.ndarray
    S: np.ndarray
    state_names: tuple[str, ...]
    parameters: list[str]
    values: np.ndarray

    def of(self, state: str) -> np.ndarray:
        """d state / d p, shape (n_t, n_params)."""
        return self.S[:, self.state_names.index(state), :]

    def normalized(self, state: str) -> np.ndarray:
        """Normalised coefficients d ln(state) / d ln(p), shape (n_t, n_params)."""
        y = self.states[:, self.state_names.index(state)][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.abs(y) > 0, self.of(state) * self.values[None, :] / y, np.nan)

    def table(self, state: str, day: float) -> "pd.DataFrame":
        """Normalised sensitivity of ``state`` at ``day`` to every parameter, largest first."""
        import pandas as pd

        k = int(np.argmin(np.abs(self.time - day)))
        coef = self.normalized(state)[k]
        frame = pd.DataFrame({"parameter": self.parameters, "normalized_sensitivity": coef})
        return frame.reindex(frame["normalized_sensitivity"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def forward(
    model: "Model",
    regimen=None,
    times: Sequence[float] = (),
    params: "Mapping[str, Any] | None" = None,
    parameters: Sequence[str] | None = None,
    initial: Any = "healthy",
    age: float | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
) -> Sensitivities:
    """States and forward sensitivities to ``parameters`` (default: all) at ``times``.

    Raises
    ------
    ParameterError
        For unknown parameter names or bad times.
    SimulationError
        If the augmented system cannot be integrated.
    """
    c = model.compiled
    pset = resolve_parameters(model, params)
    p = pset.vector(model)
    q = c.prepare(p)
    names = list(parameters) if parameters is not None else list(model.parameter_names)
    unknown = [n for n in names if n not in model.parameter_names]
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown} for sensitivities")
    cols = np.array([model.parameter_names.index(n) for n in names], dtype=int)
    grid = np.asarray(times, float)
    if grid.ndim != 1 or grid.size == 0 or grid[0] < 0 or np.any(np.diff(grid) <= 0):
        raise ParameterError("times must be a non-empty, strictly increasing sequence of days >= 0")
    n, k = len(model.states), len(cols)

    y0 = initial_state(model, initial, pset, age)
    S0 = np.zeros((n, k))
    if isinstance(initial, str):
        frozen, sinks = _frozen_and_sinks(model)
        free = np.flatnonzero(~(frozen | sinks))
        J = c.jac(0.0, y0, q)[np.ix_(free, free)]
        F = c.dfdp(0.0, y0, q)[np.ix_(free, cols)]
        S0[free] = -np.linalg.solve(J, F)

    def rhs(t, z):
        y = z[:n]
        S = z[n:].reshape(n, k)
        J = c.jac(t, y, q)
        return np.concatenate([c.rhs(t, y, q), (J @ S + c.dfdp(t, y, q)[:, cols]).ravel()])

    def jac(t, z):
        """Newton matrix: J on the state block and on each sensitivity column (d(JS)/dy left out)."""
        J = c.jac(t, z[:n], q)
        big = np.zeros((n * (k + 1), n * (k + 1)))
        big[:n, :n] = J
        for j in range(k):
            big[n + j :: k, n + j :: k] = J
        return big

    resolved = as_regimen(regimen).resolve(model, p)

    def segment(z, seg):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ODEintWarning)
            sol, info = odeint(rhs, z, seg, Dfun=jac, tfirst=True, rtol=rtol, atol=atol, mxstep=200000,
                               full_output=True)
        if info["message"] != "Integration successful." or not np.all(np.isfinite(sol)):
            raise SimulationError(f"sensitivity integration failed between day {seg[0]:g} and {seg[-1]:g}: {info['message']}")
        return sol

    # doses add to states only (indices below n); they do not depend on p, so S does not jump
    out = integrate_across_doses(np.concatenate([y0, S0.ravel()]), grid, resolved, segment)
    return Sensitivities(grid, out[:, :n], out[:, n:].reshape(grid.size, n, k), model.state_names, names, p[cols])
