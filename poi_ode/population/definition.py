"""The virtual POI population's definition (a TOML file with a source for every number)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..parameters import read_toml

__all__ = ["PoiPopulation", "load_population", "population_path", "FIELDS"]

FIELDS = ("age", "reserve_log10_mean", "reserve_log10_sd", "dysfunction_log10_mean", "dysfunction_log10_sd",
          "fsh_sample_sd", "e2_sample_sd", "amh_sample_sd", "amh_detection_limit")
"""The numbers a population file gives, each as ``{value = ..., source = "..."}``."""


@dataclass(frozen=True)
class PoiPopulation:
    """Virtual women with idiopathic POI.

    Attributes
    ----------
    age : float
        Age of the women (years).
    reserve_log10_mean, reserve_log10_sd : float
        Log10 of the residual primordial reserve as a fraction of the healthy pool at that age
        (the parameter ``poi_reserve_fraction``): mean and standard deviation.
    dysfunction_log10_mean, dysfunction_log10_sd : float
        Log10 of the severity of FSH desensitisation (the parameter ``dysfunction``).
    fsh_sample_sd, e2_sample_sd, amh_sample_sd : float
        Log-scale standard deviation of one serum sample around the model's level (assay and
        day-to-day variation).
    amh_detection_limit : float
        AMH detection limit of the assay (ng/mL): "undetectable" below it.
    species : str
        The model's species.
    sources : dict
        Where each number comes from.
    """

    age: float
    reserve_log10_mean: float
    reserve_log10_sd: float
    dysfunction_log10_mean: float
    dysfunction_log10_sd: float
    fsh_sample_sd: float
    e2_sample_sd: float
    amh_sample_sd: float
    amh_detection_limit: float
    species: str = "human"
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def standard_normals(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` pairs of independent standard normals (reserve, dysfunction), reproducible by ``seed``."""
        if n < 1:
            raise ParameterError(f"a virtual population needs at least 1 woman (got n={n})")
        return np.random.default_rng(seed).standard_normal((int(n), 2))

    def women(self, n: int, seed: int = 0, normals: np.ndarray | None = None) -> list[dict[str, float]]:
        """Parameter changes of ``n`` virtual women (``poi_reserve_fraction``, ``dysfunction``).

        The reserve fraction is capped at 1 (a POI woman has at most the healthy pool).
        """
        z = self.standard_normals(n, seed) if normals is None else np.asarray(normals, dtype=float)
        reserve = np.minimum(10.0 ** (self.reserve_log10_mean + self.reserve_log10_sd * z[:, 0]), 1.0)
        severity = 10.0 ** (self.dysfunction_log10_mean + self.dysfunction_log10_sd * z[:, 1])
        return [{"poi_reserve_fraction": float(f), "dysfunction": float(d)} for f, d in zip(reserve, severity)]

    def with_values(self, **values: float) -> "PoiPopulation":
        """A copy with some numbers changed."""
        unknown = set(values) - set(FIELDS)
        if unknown:
            raise ParameterError(f"unknown population field(s) {sorted(unknown)}; known: {', '.join(FIELDS)}")
        fields_now = {name: getattr(self, name) for name in FIELDS}
        return PoiPopulation(**{**fields_now, **values}, species=self.species, sources=dict(self.sources))


def population_path() -> Path:
    """Path of the bundled population file."""
    return Path(__file__).with_name("poi_population.toml")


def load_population(path: str | Path | None = None) -> PoiPopulation:
    """Read a population file (default: the bundled, calibrated one)."""
    path = Path(path) if path is not None else population_path()
    raw: dict[str, Any] = read_toml(path, "population file")
    body = raw.get("population", {})
    missing = [name for name in FIELDS if name not in body]
    if missing:
        raise ParameterError(f"{path.name}: [population] lacks {', '.join(missing)}")
    values, sources = {}, {}
    for name in FIELDS:
        entry = body[name]
        if not isinstance(entry, dict) or "value" not in entry or "source" not in entry:
            raise ParameterError(f"{path.name}: population.{name} must be {{value = ..., source = \"...\"}}")
        values[name] = float(entry["value"])
        sources[name] = str(entry["source"])
    for name in ("reserve_log10_sd", "dysfunction_log10_sd", "fsh_sample_sd", "e2_sample_sd", "amh_sample_sd",
                 "amh_detection_limit"):
        if values[name] < 0:
            raise ParameterError(f"{path.name}: population.{name} is {values[name]} (must be >= 0)")
    return PoiPopulation(**values, species=str(body.get("species", "human")), sources=sources)
