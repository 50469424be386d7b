"""The responder fraction of a regimen in the virtual POI population (issue 11)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from .definition import PoiPopulation, load_population
from .endpoints import responder_endpoint

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..dosing import Dose, Regimen
    from ..model.core import Model

__all__ = ["ResponderFraction", "responder_fraction", "responder_table", "plot_responders", "simulate_women",
           "RESPONDER_COLUMNS"]

BOOTSTRAP = 2000
"""Resamples of the band (women with replacement, and a parameter draw each)."""


@dataclass
class ResponderFraction:
    """The fraction of virtual women meeting a responder endpoint, treated and untreated.

    Attributes
    ----------
    endpoint : str
        Responder endpoint (:data:`~poi_ode.population.RESPONDER_ENDPOINTS`).
    window : tuple of float
        Days from the first dose.
    fraction, lower, upper : float
        Treated: mean of the per-woman probabilities at the calibrated parameters, and the band.
    untreated_fraction, untreated_lower, untreated_upper : float
        The same women untreated over the same window (spontaneous resumption).
    n : int
        Virtual women.
    draws : int
        Parameter draws behind the band (0: the band is the sampling of women only).
    level : float
        Coverage of the band.
    band : str
        What the band covers.
    failures : int
        Simulations that failed (left out of the means).
    per_woman : dict of str to ndarray
        ``treated`` and ``untreated`` probabilities, shape (1 + draws, n).
    """

    endpoint: str
    window: tuple[float, float]
    fraction: float
    lower: float
    upper: float
    untreated_fraction: float
    untreated_lower: float
    untreated_upper: float
    n: int
    draws: int
    level: float
    band: str
    failures: int = 0
    per_woman: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def row(self) -> dict[str, Any]:
        """One table row: endpoint, window, fraction, lower, upper, untreated_fraction (and its band)."""
        return {"endpoint": self.endpoint, "window": f"{self.window[0]:g}-{self.window[1]:g}",
                "fraction": self.fraction, "lower": self.lower, "upper": self.upper,
                "untreated_fraction": self.untreated_fraction, "untreated_lower": self.untreated_lower,
                "untreated_upper": self.untreated_upper}


def simulate_women(model: "Model", base, women: Sequence[Mapping[str, float]], regimen, times: Sequence[float],
                   age: float):
    """The virtual women (parameter changes on ``base``, clipped to the parameters' bounds) from their
    POI state (``initial="poi"``), in one batch."""
    from ..simulate import simulate_batch

    def clipped(name: str, value: float) -> float:
        return float(min(max(value, base[name].lower), base[name].upper))

    sets = [base.with_values({k: clipped(k, v) for k, v in w.items()}) for w in women]
    return simulate_batch(model, [regimen] * len(sets), times, params=sets, initial="poi", age=age)


def _setup(model_or_fit, population, draws: int, seed: int, n: int, model):
    from ..predict.jobs import resolve_source
    from ..predict.uncertainty import draw_parameters

    m, base, fit = resolve_source(model_or_fit, model)
    pop = population or load_population()
    if pop.species != base.species:
        raise ParameterError(f"the population is of {pop.species!r}, the model of {base.species!r}")
    if draws < 0:
        raise ParameterError(f"draws must be >= 0 (got {draws})")
    if draws and fit is None:
        raise ParameterError("draws > 0 needs a FitResult (its covariance gives the parameter draws)")
    rows: list[dict[str, float]] = [{}] + (draw_parameters(base, "fit", draws, seed + 1, fit) if draws else [])
    return m, base, pop, rows, pop.women(n, seed)


def _probabilities(m, base, pop, rows, women, regimen, endpoints) -> dict[str, np.ndarray]:
    """Per endpoint, the per-woman probabilities, shape (parameter rows, women); NaN where a run failed."""
    times = sorted({0.0, *(t for ep in endpoints for t in ep.times())})
    out = {ep.name: np.full((len(rows), len(women)), np.nan) for ep in endpoints}
    for b, row in enumerate(rows):
        batch = simulate_women(m, base.with_values(row) if row else base, women, regimen, times, pop.age)
        failed = np.array([e is not None for e in batch.errors])
        for ep in endpoints:
            values = np.asarray(ep(batch, pop), dtype=float)
            values[failed] = np.nan
            out[ep.name][b] = values
    return out


def _band(values: np.ndarray, level: float, seed: int) -> tuple[float, float]:
    """Band of the population mean: resample women with replacement and a parameter row each."""
    rng = np.random.default_rng(seed)
    rows, n = values.shape
    pick = rng.integers(0, rows, BOOTSTRAP) if rows > 1 else np.zeros(BOOTSTRAP, dtype=int)
    who = rng.integers(0, n, (BOOTSTRAP, n))
    low, high = np.nanquantile(np.nanmean(values[pick[:, None], who], axis=1), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def _band_text(draws: int, n: int, level: float) -> str:
    kind = (f"{draws} parameter draws from the fit's covariance and " if draws else "") + \
        f"{BOOTSTRAP} resamples of the {n} women"
    return f"{100 * level:g}% band over {kind}"


def responder_fraction(
    model_or_fit: "Model | Any",
    regimen: "Regimen | Sequence[Dose] | Dose | None",
    population: PoiPopulation | None = None,
    endpoint: str = "ovulation",
    window: tuple[float, float] = (0.0, 365.0),
    n: int = 200,
    draws: int = 0,
    level: float = 0.9,
    seed: int = 0,
    model: "Model | None" = None,
) -> ResponderFraction:
    """Fraction of virtual POI women who respond to ``regimen``, with its uncertainty band.

    Parameters
    ----------
    model_or_fit : Model or FitResult (or a list of them)
        The model with its parameters, or a calibration (its estimates, and its covariance for the
        band when ``draws`` > 0).
    regimen : Regimen, list of Dose, Dose or None
        Days from baseline (the POI state). ``None``: untreated.
    population : PoiPopulation, optional
        Default: the bundled, calibrated population (:func:`load_population`).
    endpoint : str
        A key of :data:`~poi_ode.population.RESPONDER_ENDPOINTS`.
    window : (float, float)
        Days [start, end] in which the endpoint is read.
    n : int
        Virtual women (common to treated and untreated).
    draws : int
        Parameter draws from the fit's covariance for the band (needs a FitResult).
    level : float
        Coverage of the band (0.9: the 5th to 95th percentile).
    seed : int
        Seed of the women and the draws.
    model : Model, optional
        The full model to apply a FitResult to (default: the species' full model).

    Returns
    -------
    ResponderFraction
    """
    if not 0 < level < 1:
        raise ParameterError(f"level must be between 0 and 1 (got {level})")
    ep = responder_endpoint(endpoint, float(window[0]), float(window[1]))
    m, base, pop, rows, women = _setup(model_or_fit, population, draws, seed, n, model)
    p = {arm: _probabilities(m, base, pop, rows, women, reg, [ep])[ep.name]
         for arm, reg in (("treated", regimen), ("untreated", None))}
    treated, untreated = _band(p["treated"], level, seed + 2), _band(p["untreated"], level, seed + 2)
    return ResponderFraction(
        endpoint=endpoint, window=(float(window[0]), float(window[1])),
        fraction=float(np.nanmean(p["treated"][0])), lower=treated[0], upper=treated[1],
        untreated_fraction=float(np.nanmean(p["untreated"][0])), untreated_lower=untreated[0],
        untreated_upper=untreated[1], n=n, draws=draws, level=level, band=_band_text(draws, n, level),
        failures=int(sum(np.isnan(v).sum() for v in p.values())), per_woman=p)


RESPONDER_COLUMNS = ("dose", "endpoint", "window", "fraction", "lower", "upper", "untreated_fraction",
                     "untreated_lower", "untreated_upper", "unit", "agent", "route", "n", "band", "failures")
"""Columns of :func:`responder_table` (the first seven are those of ``responders.csv``)."""


def responder_table(
    model_or_fit: "Model | Any",
    agent: str,
    doses: Sequence[float],
    route: str | None = None,
    unit: str | None = None,
    schedule: Sequence[float] = (0.0,),
    endpoints: Sequence[str] = ("ovulation", "fsh_below_25_twice", "e2_above_50"),
    window: tuple[float, float] = (0.0, 365.0),
    population: PoiPopulation | None = None,
    n: int = 200,
    draws: int = 0,
    level: float = 0.9,
    seed: int = 0,
    model: "Model | None" = None,
) -> "pd.DataFrame":
    """Responder fractions of several doses and endpoints, with the untreated fraction of the same women.

    Parameters
    ----------
    agent, doses, route, unit, schedule
        The treatment: ``agent`` at each dose (``unit``, default the agent's) on each day of
        ``schedule`` by ``route`` (default: the agent's).
    endpoints : sequence of str
        Keys of :data:`~poi_ode.population.RESPONDER_ENDPOINTS`.
    window, population, n, draws, level, seed, model
        As for :func:`responder_fraction`.

    Returns
    -------
    pandas.DataFrame
        One row per dose and endpoint, columns :data:`RESPONDER_COLUMNS`.
    """
    import pandas as pd

    from ..dosing import Dose

    if not 0 < level < 1:
        raise ParameterError(f"level must be between 0 and 1 (got {level})")
    doses = [float(d) for d in doses]
    if not doses or any(not np.isfinite(d) or d < 0 for d in doses):
        raise ParameterError(f"doses must be finite and >= 0 (got {doses})")
    eps = [responder_endpoint(name, float(window[0]), float(window[1])) for name in endpoints]
    m, base, pop, rows, women = _setup(model_or_fit, population, draws, seed, n, model)
    target = m.dose_target(agent, route)
    unit = unit or target.unit
    untreated = _probabilities(m, base, pop, rows, women, None, eps)
    bands = {name: _band(v, level, seed + 2) for name, v in untreated.items()}
    out = []
    for dose in doses:
        regimen = [Dose(float(day), agent, dose, unit, target.route) for day in schedule]
        treated = _probabilities(m, base, pop, rows, women, regimen, eps)
        for ep in eps:
            low, high = _band(treated[ep.name], level, seed + 2)
            failures = int(np.isnan(treated[ep.name]).sum() + np.isnan(untreated[ep.name]).sum())
            out.append({"dose": dose, "endpoint": ep.name, "window": f"{window[0]:g}-{window[1]:g}",
                        "fraction": float(np.nanmean(treated[ep.name][0])), "lower": low, "upper": high,
                        "untreated_fraction": float(np.nanmean(untreated[ep.name][0])),
                        "untreated_lower": bands[ep.name][0], "untreated_upper": bands[ep.name][1], "unit": unit,
                        "agent": agent, "route": target.route, "n": n, "band": _band_text(draws, n, level),
                        "failures": failures})
    return pd.DataFrame(out, columns=list(RESPONDER_COLUMNS))


def plot_responders(table: "pd.DataFrame"):
    """Fraction against dose per endpoint, with its band and the untreated fraction (a figure)."""
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(table["endpoint"]))
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        t = table[table["endpoint"] == name].sort_values("dose")
        ax.fill_between(t["dose"], t["lower"], t["upper"], alpha=0.25, label="treated, band")
        ax.plot(t["dose"], t["fraction"], "o-", label="treated")
        ax.axhspan(t["untreated_lower"].iloc[0], t["untreated_upper"].iloc[0], color="grey", alpha=0.2)
        ax.axhline(t["untreated_fraction"].iloc[0], color="grey", ls="--", label="untreated")
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"{t['agent'].iloc[0]} dose ({t['unit'].iloc[0]}, {t['route'].iloc[0]})")
        ax.set_ylabel("fraction of virtual women")
        ax.set_title(f"{name}, days {t['window'].iloc[0]}", fontsize=9)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Responders in the virtual POI population ({table['band'].iloc[0]})", fontsize=9)
    fig.tight_layout()
    return fig
