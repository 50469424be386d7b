"""FitResult: estimates with intervals, diagnostics, identifiability; report, JSON, plots."""
from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .jacobian import FLAT_RTOL, gaussian_draws, jacobian_information
from .nuisance import is_nuisance

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..model.core import Model
    from ..parameters import ParameterSet

__all__ = ["FitResult", "ParameterEstimate", "gaussian_draws", "jacobian_information", "FLAT_RTOL"]

Z95 = 1.959963984540054
CHI2_95_1DF = 3.841458820694124

@dataclass
class ParameterEstimate:
    """One free parameter: estimate and 95% interval in the parameter set's unit."""

    name: str
    scope: str
    unit: str
    scale: str
    value: float
    initial: float
    lower_bound: float
    upper_bound: float
    stderr_internal: float | None  # standard error in the internal scale (log10 for log scale)
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    identifiability: str
    prior: list[float] | None = None

    @property
    def key(self) -> str:
        return self.name if self.scope == "shared" else self.name + "__" + re.sub(r"\W", "_", self.scope)


@dataclass
class FitResult:
    """Everything a calibration produced, in plain (JSON-able) values.

    Use :meth:`report` for a readable summary, :meth:`to_json`/:meth:`from_json` to store
    and reload it without loss, :meth:`plot` for data with the fit, and
    :meth:`parameter_set` for a parameter set with the fitted values (kind ``fitted``).
    """

    status: str
    success: bool
    message: str
    method: str
    species: str
    modules: list[str]
    parameters: list[ParameterEstimate]
    covariance: list[list[float]] | None
    correlation: list[list[float]] | None
    chi2: float
    n_observations: int
    n_priors: int
    n_free: int
    aic: float
    bic: float
    reduced_chi2: float | None
    observations: list[dict[str, Any]]
    goodness_of_fit: list[dict[str, Any]]
    config: dict[str, Any]
    n_evaluations: int
    n_failed_simulations: int
    wall_time_s: float
    warnings: list[str] = field(default_factory=list)
    multistart: list[dict[str, Any]] = field(default_factory=list)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: dict[str, Any] | None = None
    singular_values: list[float] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    """Published and predicted pooled effects at the estimate (fits with summary-level evidence)."""

    # ----------------------------------------------------------------------------- access
    def __getitem__(self, key: str) -> ParameterEstimate:
        for p in self.parameters:
            if p.key == key or (p.name == key and p.scope == "shared"):
                return p
        raise KeyError(f"{key!r} is not a free parameter of this fit")

    @property
    def values(self) -> dict[str, float]:
        return {p.key: p.value for p in self.parameters}

    def internal_estimate(self) -> np.ndarray:
        return np.array([math.log10(p.value) if p.scale == "log" else p.value for p in self.parameters])

    def parameter_set(self, base: "ParameterSet", scope: str | None = None) -> "ParameterSet":
        """``base`` with the fitted shared values (and those of ``scope``: a study, ``"STUDY/ARM"``
        or ``"STUDY/ARM/SUBJECT"``, with its wider scopes), marked ``fitted``."""
        scopes = {"shared"}
        if scope:
            parts = scope.split("/")
            scopes |= {"/".join(parts[: i + 1]) for i in range(len(parts))}
        from dataclasses import replace

        new = dict(base.parameters)
        for p in self.parameters:
            if is_nuisance(p.name) or p.scope not in scopes:
                continue
            old = base[p.name]
            ci = f", 95% CI {p.ci_low:.4g}-{p.ci_high:.4g}" if p.ci_low is not None and p.ci_high is not None else ""
            new[p.name] = replace(
                old, value=p.value, kind="fitted",
                source=f"fitted ({self.config.get('name', 'fit')}, {p.identifiability}{ci}); prior value: {old.source}",
            )
        return replace(base, parameters=new)

    def table(self) -> "pd.DataFrame":
        import pandas as pd

        return pd.DataFrame([asdict(p) for p in self.parameters])

    def observations_frame(self) -> "pd.DataFrame":
        import pandas as pd

        return pd.DataFrame(self.observations)

    # ----------------------------------------------------------------------------- report
    def parameter_rows(self) -> list[str]:
        """Markdown table of the estimates: scope, value, 95% CI and its method, identifiability."""
        rows = ["| parameter | scope | estimate | 95% CI | unit | interval from | identifiability |",
                "|---|---|---|---|---|---|---|"]
        for p in self.parameters:
            ci = f"{p.ci_low:.4g} – {p.ci_high:.4g}" if p.ci_low is not None and p.ci_high is not None else "—"
            rows.append(f"| `{p.name}` | {p.scope} | {p.value:.4g} | {ci} | {p.unit} | {p.ci_method} | "
                        f"{p.identifiability} |")
        return rows

    def report(self) -> str:
        """A readable Markdown report: status, parameters with CIs, fit per dataset, warnings."""
        lines = [
            f"# Fit: {self.config.get('name', 'calibration')}",
            "",
            f"- status: **{self.status}** ({self.message})",
            f"- model: {self.species}, modules {', '.join(self.modules)}; method {self.method}; "
            f"error model {self.config.get('error_model')}",
            f"- data: {self.config.get('data_name')}; {self.n_observations} observations fitted, "
            f"{self.n_priors} prior terms, {self.n_free} free parameters",
            f"- chi2 {self.chi2:.4g}; AIC {self.aic:.4g}; BIC {self.bic:.4g}"
            + (f"; reduced chi2 {self.reduced_chi2:.3g}" if self.reduced_chi2 is not None
               else "; no residual degrees of freedom"),
            f"- {self.n_evaluations} objective evaluations, {self.n_failed_simulations} failed simulations, "
            f"{self.wall_time_s:.1f} s",
            "",
            *self.parameter_rows(),
        ]
        if self.correlation is not None and self.n_free > 1:
            strong = [
                (self.parameters[i].key, self.parameters[j].key, self.correlation[i][j])
                for i in range(self.n_free) for j in range(i + 1, self.n_free)
                if self.correlation[i][j] is not None and abs(self.correlation[i][j]) > 0.9
            ]
            if strong:
                lines += ["",
                          "Strong correlations (|r| > 0.9): " + "; ".join(f"{a} ~ {b}: {r:+.2f}" for a, b, r in strong)]
        if self.goodness_of_fit:
            lines += ["", "| study | analyte | n | chi2 | RMS std. residual |", "|---|---|---|---|---|"]
            for g in self.goodness_of_fit:
                lines.append(f"| {g['study']} | {g['analyte']} | {g['n']} | {g['chi2']:.3g} | {g['rms']:.3g} |")
        if self.evidence:
            lines += ["", "Published pooled effects (SMD) and the prediction at the estimate:", "",
                      "| analyte | subgroup | meta-analysis | published (95% CI) | predicted | in CI | fitted |",
                      "|---|---|---|---|---|---|---|"]
            for e in self.evidence:
                if "error" in e:
                    lines.append(f"| evidence could not be simulated: {e['error']} | | | | | | |")
                    continue
                lines.append(f"| {e['analyte']} | {e['subgroup']} | {e['meta_analysis']} | {e['published']:.3g} "
                             f"({e['published_lower']:.3g} to {e['published_upper']:.3g}) | {e['predicted']:.3g} | "
                             f"{'yes' if e['within_ci'] else 'no'} | "
                             f"{'yes' if e.get('fitted', not e['held_out']) else 'no'} |")
        if self.warnings:
            lines += ["", "Warnings:", *[f"- {w}" for w in self.warnings]]
        return "\n".join(lines) + "\n"

    # ----------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FitResult":
        data = dict(data)
        data["parameters"] = [ParameterEstimate(**p) for p in data["parameters"]]
        return cls(**data)

    def to_json(self, path: str | Path) -> Path:
        """Write the result as JSON (lossless: :meth:`from_json` gives an equal result)."""
        from .._files import write_atomic

        return write_atomic(path, json.dumps(_clean(self.to_dict()), indent=1))

    @classmethod
    def from_json(cls, path: str | Path) -> "FitResult":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    # ----------------------------------------------------------------------------- plots
    def plot(self, model: "Model | None" = None, bands: int = 0, seed: int = 0):
        """Data (error bars: standard errors) and the fitted curve per arm and analyte.

        ``bands`` > 0 adds a 95% band from that many draws of the parameter covariance
        (parameter uncertainty only). Returns the matplotlib figure.
        """
        from .plots import plot_fit

        return plot_fit(self, model, bands=bands, seed=seed)

    def plot_residuals(self):
        """Standardised residuals against time and prediction."""
        from .plots import plot_residuals

        return plot_residuals(self)

    def plot_profiles(self):
        from .plots import plot_profiles

        return plot_profiles(self)

    def plot_corner(self):
        from .plots import plot_corner

        return plot_corner(self)


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN/inf to None."""
    kind = type(value)  # the plain Python types first (most of a result), as the general checks below treat them
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    return value
