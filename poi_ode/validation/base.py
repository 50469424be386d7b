"""What every validation check builds on: the :class:`Check` row, the species subject whose runs the
checks share, the row collector, and where the published numbers come from.

The natural-history (:mod:`.checks`), chemotherapy (:mod:`.chemotherapy`) and population
(:mod:`.population`) checks all import from here, so none of them imports another.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from ..parameters import ParameterSet
from ..simulate import DAYS_PER_YEAR

if TYPE_CHECKING:  # pragma: no cover
    from ..model.core import Model
    from ..simulate import Trajectory

__all__ = ["Check", "COLUMNS", "REVIEW", "EVIDENCE", "NAN"]

REVIEW = "../shared/review/SCIENCE_REVIEW.md"
"""The independent scientific review, relative to the repository."""

EVIDENCE = "../shared/evidence/natural_history.csv"
"""The evidence sheet the targets come from, relative to the repository."""

NAN = math.nan


@dataclass
class Check:
    """One validation check of the untreated model.

    Attributes
    ----------
    check : str
        Short name of the behaviour checked.
    species : str
        ``"human"`` or ``"mouse"``.
    quantity : str
        What is measured on the model, with how it is computed where that is not obvious.
    condition : str
        The pass criterion, with its tolerance.
    published, published_low, published_high : float
        The published value and, where the source gives them, its bounds (NaN where none).
    model : float
        The model's value of ``quantity`` (NaN if it could not be computed).
    unit : str
        Unit of ``published`` and ``model``.
    passed : bool
        Whether ``condition`` holds.
    source : str
        Where the published value and the criterion come from: citation, location in the
        source, evidence-sheet line; or the issue's criterion; or the review's Table A row.
    note : str
        Details: the worst case and where it occurs, or the exception that stopped the check.
    """

    check: str
    species: str
    quantity: str
    condition: str
    published: float
    published_low: float
    published_high: float
    model: float
    unit: str
    passed: bool
    source: str
    note: str = ""


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Check) if f.name != "note")
"""Columns of ``validation.csv``, in order (the page shows ``note`` as well)."""


def _age_of(traj: "Trajectory") -> np.ndarray:
    """Age (years) at each output time: the model's clock state ``age``."""
    return np.asarray(traj["age"], dtype=float)


class _Subject:
    """One species' model and parameters, with the runs the checks share (cached, errors too)."""

    def __init__(self, species: str, params: "Mapping[str, Any] | ParameterSet | None"):
        import poi_ode as po

        self.po = po
        self.species = species
        self.params = params if isinstance(params, ParameterSet) else (dict(params) if params else None)
        self._cache: dict[Any, Any] = {}
        self._model: Model | None
        try:
            self._model = po.load_model(species)
            if isinstance(params, ParameterSet) and params.info.get("structure") != \
                    self._model.require_parameter_set().info.get("structure"):  # another structure: its own model
                from ..model import DEFAULT_MODULES, compose

                self._model = compose(DEFAULT_MODULES, name=params.species, units=params.info.get("units", {}),
                                      structure=params.info.get("structure", {}))
                self._model.attach(params)
            self._load_error: Exception | None = None
        except Exception as exc:  # every check of the species then reports it
            self._model, self._load_error = None, exc

    @property
    def model(self) -> "Model":
        if self._load_error is not None:
            raise self._load_error
        assert self._model is not None  # loaded, as no load error was kept
        return self._model

    def _cached(self, key, compute: Callable[[], Any]):
        if key not in self._cache:
            try:
                self._cache[key] = ("ok", compute())
            except Exception as exc:  # reported in the check's note, never raised
                self._cache[key] = ("error", exc)
        kind, value = self._cache[key]
        if kind == "error":
            raise value
        return value

    @property
    def pset(self):
        from ..simulate import resolve_parameters

        return resolve_parameters(self.model, self.params)

    def reference_age(self) -> float:
        """The set's reference age (years): 30 y for women, 8 weeks for mice."""
        from ..simulate import reference_age

        return float(reference_age(self.pset))

    def start_age(self) -> float:
        """Where the set's natural history starts (years)."""
        from ..simulate import start_age

        return float(start_age(self.pset))

    def history(self, until: float, step_days: float) -> tuple["Trajectory", np.ndarray]:
        """The untreated course from the start age to ``until`` (years): trajectory and ages."""
        def compute():
            from ..simulate import natural_history

            traj = natural_history(self.model, until, params=self.params, step_days=step_days)
            return traj, _age_of(traj)

        return self._cached(("history", until, step_days), compute)

    def started_at(self, age: float, until: float, step_days: float) -> tuple["Trajectory", np.ndarray]:
        """The untreated individual started at ``age`` (``po.simulate(initial="healthy", age=age)``)."""
        def compute():
            span = (until - age) * DAYS_PER_YEAR
            times = np.linspace(0.0, span, max(int(math.ceil(span / step_days)), 1) + 1)
            traj = self.po.simulate(self.model, [], times=times, params=self.params, initial="healthy", age=age)
            return traj, _age_of(traj)

        return self._cached(("start", age, until, step_days), compute)

    def castrate(self) -> tuple[float, float, str]:
        """FSH with every follicle pool emptied: (FSH at the end, FSH_castrate, unit).

        From the healthy state at the reference age, every follicle pool (states counted in
        follicles, cumulative sinks excepted) is set to 0 and the model runs untreated for 3 years.
        """
        def compute():
            model = self.model
            y0 = np.array(self.po.initial_state(model, "healthy", self.params, age=self.reference_age()), dtype=float)
            sinks = np.array(model.compiled.sinks, dtype=bool)
            emptied = [i for i, s in enumerate(model.states) if s.unit in ("follicles", "follicle") and not sinks[i]]
            if not emptied:
                raise KeyError("the model has no follicle pools to empty")
            y0[emptied] = 0.0
            traj = self.po.simulate(model, [], t_end=3 * DAYS_PER_YEAR, params=self.params, initial=y0)
            unit = model.states[model.index["FSH"]].unit
            return float(traj["FSH"][-1]), float(self.pset["FSH_castrate"].in_unit(unit)), unit

        return self._cached("castrate", compute)

    def unit(self, name: str) -> str:
        """Unit of a model variable ("" if the model did not load)."""
        return "" if self._model is None else self._model.units().get(name, "")


# --------------------------------------------------------------------------- building rows
class _Rows:
    """Collects checks; each model computation runs guarded (NaN and a note on error)."""

    def __init__(self, species: str, targets: dict[str, dict]):
        self.species = species
        self.targets = targets
        self.rows: list[Check] = []

    def target(self, name: str) -> dict:
        return self.targets[name]

    def source(self, *names: str, prefix: str = "") -> str:
        """Citation, location and evidence-sheet line of targets (``prefix`` first: a criterion's origin)."""
        parts: list[str] = []
        groups: dict[tuple[str, str, str], list[str]] = {}
        for name in names:  # one entry per publication and location, with all its lines
            t = self.targets[name]
            groups.setdefault((t["citation"], t["source_location"], t["confidence"]), []).append(t["evidence_rows"])
        for (citation, location, confidence), lines in groups.items():
            label = "line" if len(lines) == 1 and ";" not in lines[0] else "lines"
            parts.append(f"{citation} ({location}; {EVIDENCE} {label} {', '.join(lines).replace(';', ', ')}; "
                         f"confidence: {confidence})")
        return (prefix.rstrip("; ") + ": " if prefix else "") + "; ".join(parts)

    def add(self, check: str, quantity: str, condition: str, unit: str, source: str,
            compute: Callable[[], tuple[float, bool, str]], published: float = NAN, low: float = NAN,
            high: float = NAN) -> None:
        """Append a check; ``compute`` returns (model value, passed, note)."""
        try:
            value, passed, note = compute()
            value = float(value)
            passed = bool(passed) and math.isfinite(value)
        except Exception as exc:  # any failure of the model quantity is reported, not raised
            value, passed, note = NAN, False, f"not computed: {type(exc).__name__}: {exc}"
        self.rows.append(Check(check, self.species, quantity, condition, float(published), float(low), float(high),
                               value, unit, passed, source, note))
