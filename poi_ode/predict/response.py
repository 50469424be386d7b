"""Dose-response curves: :func:`dose_response` and its :class:`DoseResponse`."""
from __future__ import annotations

import math
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..dosing import Dose, Regimen, as_regimen
from ..errors import DosingError, ParameterError
from .emax import fit_hill
from .jobs import _Job, _run, _summary, setup_prediction
from .uncertainty import LABELS, describe, draw_parameters

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..fitting.result import FitResult
    from ..model.core import Model


# ----------------------------------------------------------------------------- dose-response
@dataclass
class DoseResponse:
    """Endpoints over a dose grid, with a labelled band.

    Attributes
    ----------
    nominal : ndarray [dose, endpoint]
        With the source's values (fitted or default).
    draws : ndarray [draw, dose, endpoint]
        Per parameter draw (empty without uncertainty).
    control : ndarray [endpoint]
        Without the agent (background regimen only).
    """

    agent: str
    route: str | None
    unit: str
    doses: np.ndarray
    endpoints: list[str]
    endpoint_units: list[str]
    nominal: np.ndarray
    draws: np.ndarray
    control: np.ndarray
    control_draws: np.ndarray
    uncertainty: str
    uncertainty_note: str
    level: float = 0.95
    schedule: list[float] = field(default_factory=list)
    failed: int = 0

    @property
    def table(self) -> "pd.DataFrame":
        """Tidy: agent, route, dose, dose_unit, endpoint, unit, nominal, median, lower, upper, uncertainty."""
        import pandas as pd

        med, lo, hi = _summary(self.draws, self.level) if len(self.draws) else (self.nominal,) * 3
        effect = self.draws - self.control_draws[:, None, :] if len(self.draws) else None
        e_med, e_lo, e_hi = _summary(effect, self.level) if effect is not None else ((self.nominal - self.control),) * 3
        rows = []
        for i, dose in enumerate(self.doses):
            for j, name in enumerate(self.endpoints):
                rows.append(dict(
                    agent=self.agent, route=self.route, dose=float(dose), dose_unit=self.unit, endpoint=name,
                    unit=self.endpoint_units[j], nominal=float(self.nominal[i, j]), median=float(med[i, j]),
                    lower=float(lo[i, j]), upper=float(hi[i, j]), control=float(self.control[j]),
                    effect=float(self.nominal[i, j] - self.control[j]), effect_median=float(e_med[i, j]),
                    effect_lower=float(e_lo[i, j]), effect_upper=float(e_hi[i, j]),
                    uncertainty=LABELS.get(self.uncertainty, self.uncertainty), n_draws=len(self.draws),
                ))
        return pd.DataFrame(rows)

    def emax(self) -> "pd.DataFrame":
        """Emax, ED50 and Hill per endpoint (nominal), with intervals from the draws."""
        import pandas as pd

        rows = []
        tail = (1 - self.level) / 2 * 100
        for j, name in enumerate(self.endpoints):
            point = fit_hill(self.doses, self.nominal[:, j], self.control[j])
            per_draw = [fit_hill(self.doses, self.draws[k, :, j], self.control_draws[k, j])
                        for k in range(len(self.draws))]
            row = dict(endpoint=name, unit=self.endpoint_units[j], dose_unit=self.unit, **point)
            for key in ("Emax", "ED50", "hill"):
                vals = np.array([p[key] for p in per_draw], float)
                vals = vals[np.isfinite(vals)]
                row[f"{key}_lower"] = float(np.percentile(vals, tail)) if vals.size else math.nan
                row[f"{key}_upper"] = float(np.percentile(vals, 100 - tail)) if vals.size else math.nan
            row["uncertainty"] = LABELS.get(self.uncertainty, self.uncertainty)
            rows.append(row)
        return pd.DataFrame(rows)

    def minimum_dose(self, endpoint: str, target: float, direction: str = "above") -> dict[str, float]:
        """Smallest dose whose endpoint reaches ``target`` (log-dose interpolation).

        Returns the nominal dose, the median and interval over draws, and the share of draws
        that reach the target within the grid (NaN dose where it is not reached).
        """
        if direction not in ("above", "below"):
            raise ParameterError("direction must be 'above' or 'below'")
        j = self.endpoints.index(endpoint)

        def crossing(values):
            ok = values >= target if direction == "above" else values <= target
            if not ok.any():
                return math.nan
            k = int(np.argmax(ok))
            if k == 0:
                return float(self.doses[0])
            x0, x1 = np.log10(self.doses[k - 1]), np.log10(self.doses[k])
            y0, y1 = values[k - 1], values[k]
            w = 0.0 if y1 == y0 else (target - y0) / (y1 - y0)
            return float(10 ** (x0 + w * (x1 - x0)))

        nominal = crossing(self.nominal[:, j])
        per_draw = np.array([crossing(self.draws[k, :, j]) for k in range(len(self.draws))])
        reached = per_draw[np.isfinite(per_draw)]
        tail = (1 - self.level) / 2 * 100
        return dict(endpoint=endpoint, target=target, direction=direction, nominal=nominal,
                    median=float(np.median(reached)) if reached.size else math.nan,
                    lower=float(np.percentile(reached, tail)) if reached.size else math.nan,
                    upper=float(np.percentile(reached, 100 - tail)) if reached.size else math.nan,
                    share_reaching=float(reached.size / len(per_draw)) if len(per_draw) else math.nan)

    def plot(self, endpoints: Sequence[str] | None = None, effect: bool = False):
        """One panel per endpoint: nominal curve, band of the draws, control level (or the
        effect against the control, paired within draws, with ``effect=True``)."""
        from .plots import plot_dose_response

        return plot_dose_response([self], endpoints, effect=effect)


def dose_response(
    source: "Model | FitResult | Sequence[FitResult]",
    agent: str = "msc",
    doses: Sequence[float] | np.ndarray = (1e5, 1e6, 1e7),
    route: str | None = None,
    endpoints: Sequence[Any] = ("AMH@90", "FSH@90"),
    *,
    unit: str | None = None,
    schedule: Sequence[float] = (0.0,),
    background: "Regimen | Sequence[Dose] | None" = None,
    initial: Any = "healthy",
    age: float | None = None,
    draws: int = 0,
    uncertainty: str | None = None,
    population: Mapping[str, float] | None = None,
    cov_scale: float = 1.0,
    level: float = 0.95,
    seed: int = 0,
    executor: "Executor | str | None" = None,
    progress: bool = False,
    model: "Model | None" = None,
) -> DoseResponse:
    """Endpoints over a dose grid, with uncertainty from parameter draws.

    Parameters
    ----------
    source : Model, FitResult or list of FitResult
        A FitResult predicts with its fitted values (its species' model is loaded unless given).
    agent, doses, route, unit : str, sequence, str, str
        Agent (``"msc"``, ``"exosome"``...), amounts per administration, route (default: the
        agent's), dose unit (default: cells for MSC, ug for exosomes, mg/kg otherwise).
    endpoints : sequence of str or endpoint objects
        See :mod:`poi_ode.predict.endpoints` (``"AMH@90"``, ``"FSH<25@0-365"``...).
    schedule : sequence of float
        Days of administration (each gets the full dose).
    background : Regimen, optional
        Insult or other doses common to all arms (for example a chemotherapy course).
    initial, age
        Initial state and age, as in :func:`poi_ode.simulate`.
    draws, uncertainty
        Number and kind of parameter draws: ``"fit"`` (needs a FitResult; default then),
        ``"population"``, ``"assumptions"`` (default for a Model) or ``"none"``.
    cov_scale : float
        Multiplies the fit covariance (sensitivity of the bands to it).
    executor : concurrent.futures.Executor, "serial", "processes" or None
        None: serial for small jobs (the compiled engine uses every core's thread), a local
        process pool from 4,000 simulations (400 without the compiled engine). A dask
        ``Client.get_executor()`` works the same way; the tables do not depend on the choice.
    """
    doses = np.asarray(doses, float)
    if doses.ndim != 1 or doses.size == 0 or not np.all(np.isfinite(doses)) or np.any(doses <= 0):
        raise DosingError("doses must be a non-empty list of positive finite amounts")
    if np.any(np.diff(doses) <= 0):
        raise DosingError("doses must be strictly increasing")
    m, base, fit_result, eps, units, times, kind = setup_prediction(source, model, endpoints, draws, uncertainty)
    target = m.dose_target(agent, route)
    unit = unit or target.unit
    bg = as_regimen(background)
    for day in schedule:
        if not (math.isfinite(day) and day >= 0):
            raise DosingError(f"schedule day {day!r} must be a finite number >= 0")
        if day > times[-1]:
            raise DosingError(f"schedule day {day:g} is after the last endpoint day {times[-1]:g}")
    regimens = [bg] + [bg + Regimen([Dose(day, agent, float(d), unit, route) for day in schedule]) for d in doses]
    for r in regimens[1:2]:
        r.resolve(m, base.vector(m))  # unit and route errors now, not inside a worker
    job = _Job(m, base, regimens, eps, times, initial, age)
    parameter_draws = draw_parameters(base, kind, int(draws), seed, fit_result, population, cov_scale)
    nominal, per_draw = _run(job, parameter_draws, executor, progress)
    failed = int(np.isnan(per_draw).any(axis=2).sum()) if per_draw.size else 0
    return DoseResponse(
        agent=agent, route=target.route, unit=unit, doses=doses, endpoints=[e.name for e in eps], endpoint_units=units,
        nominal=nominal[1:], draws=per_draw[:, 1:] if per_draw.size else np.empty((0, len(doses), len(eps))),
        control=nominal[0], control_draws=per_draw[:, 0] if per_draw.size else np.empty((0, len(eps))),
        uncertainty=kind, uncertainty_note=describe(kind, population), level=level, schedule=list(schedule),
        failed=failed,
    )
