"""Comparing regimens at equal or chosen doses: :func:`compare_regimens` and its :class:`RegimenComparison`."""
from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..dosing import Dose, Regimen, as_regimen
from ..errors import DosingError, ParameterError
from .jobs import _Job, _run, _summary, setup_prediction
from .uncertainty import LABELS, describe, draw_parameters

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..fitting.result import FitResult
    from ..model.core import Model


# ----------------------------------------------------------------------------- regimens
@dataclass
class RegimenComparison:
    """Endpoints per named regimen, with a labelled band."""

    names: list[str]
    endpoints: list[str]
    endpoint_units: list[str]
    nominal: np.ndarray  # [regimen, endpoint]
    draws: np.ndarray  # [draw, regimen, endpoint]
    uncertainty: str
    uncertainty_note: str
    level: float = 0.95
    reference: str | None = None

    @property
    def table(self) -> "pd.DataFrame":
        """Tidy: regimen, endpoint, value (nominal, median, interval) and, with a reference
        regimen, the effect against it (paired within each draw)."""
        import pandas as pd

        med, lo, hi = _summary(self.draws, self.level) if len(self.draws) else (self.nominal,) * 3
        ref = self.names.index(self.reference) if self.reference is not None else None
        if ref is not None:
            effect_nominal = self.nominal - self.nominal[ref]
            eff = self.draws - self.draws[:, ref : ref + 1, :] if len(self.draws) else None
            e_med, e_lo, e_hi = _summary(eff, self.level) if eff is not None else (effect_nominal,) * 3
        rows = []
        for i, n in enumerate(self.names):
            for j, e in enumerate(self.endpoints):
                row = dict(regimen=n, endpoint=e, unit=self.endpoint_units[j], nominal=float(self.nominal[i, j]),
                           median=float(med[i, j]), lower=float(lo[i, j]), upper=float(hi[i, j]),
                           uncertainty=LABELS.get(self.uncertainty, self.uncertainty), n_draws=len(self.draws))
                if ref is not None:
                    row.update(effect=float(effect_nominal[i, j]), effect_median=float(e_med[i, j]),
                               effect_lower=float(e_lo[i, j]), effect_upper=float(e_hi[i, j]),
                               reference=self.reference)
                rows.append(row)
        return pd.DataFrame(rows)

    def plot(self):
        from .plots import plot_comparison

        return plot_comparison(self)


def compare_regimens(
    source: "Model | FitResult | Sequence[FitResult]",
    regimens: Mapping[str, "Regimen | Sequence[Dose] | Dose | None"],
    endpoints: Sequence[Any] = ("AMH@90", "FSH@90"),
    *,
    background: "Regimen | Sequence[Dose] | None" = None,
    initial: Any = "healthy",
    age: float | None = None,
    draws: int = 0,
    uncertainty: str | None = None,
    population: Mapping[str, float] | None = None,
    level: float = 0.95,
    seed: int = 0,
    executor: "Executor | str | None" = None,
    progress: bool = False,
    model: "Model | None" = None,
    reference: str | None = None,
) -> RegimenComparison:
    """Endpoints of several treatment regimens (each added to ``background``), same draws for all.

    ``reference`` names the regimen effects are measured against (paired within each draw).
    """
    if not regimens:
        raise ParameterError("give at least one regimen to compare")
    if reference is not None and reference not in regimens:
        raise ParameterError(f"reference {reference!r} is not one of the regimens {list(regimens)}")
    m, base, fit_result, eps, units, times, kind = setup_prediction(source, model, endpoints, draws, uncertainty)
    bg = as_regimen(background)
    regs = []
    for name, r in regimens.items():
        reg = bg + as_regimen(r)
        late = [d for d in reg if d.time > times[-1]]
        if late:
            raise DosingError(f"regimen {name!r}: dose at day {late[0].time:g} is after the last endpoint day "
                              f"{times[-1]:g}")
        reg.resolve(m, base.vector(m))
        regs.append(reg)
    job = _Job(m, base, regs, eps, times, initial, age)
    parameter_draws = draw_parameters(base, kind, int(draws), seed, fit_result, population)
    nominal, per_draw = _run(job, parameter_draws, executor, progress)
    return RegimenComparison(list(regimens), [e.name for e in eps], units, nominal, per_draw, kind,
                             describe(kind, population), level, reference)
