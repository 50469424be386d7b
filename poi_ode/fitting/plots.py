"""Figures of a FitResult: data with fit (and parameter-uncertainty bands), profiles, corner."""
from __future__ import annotations

import math
import re
import textwrap
from typing import TYPE_CHECKING

import numpy as np

from ..simulate import DAYS_PER_YEAR
from .nuisance import is_nuisance

if TYPE_CHECKING:  # pragma: no cover
    from ..model.core import Model
    from .result import FitResult

__all__ = ["plot_fit", "plot_residuals", "plot_profiles", "plot_corner"]


def _model_for(result: "FitResult", model: "Model | None") -> "Model":
    if model is not None:
        return model
    from ..model import load_model

    return load_model(result.species, modules=result.modules)


def _curves(result: "FitResult", model: "Model", values: dict[str, float], arm: dict, grid: np.ndarray, variables):
    from ..data import parse_regimen
    from ..simulate import simulate

    base = model.require_parameter_set().with_values(result.config["fixed_parameters"])
    own = {p.name: values[p.key] for p in result.parameters
           if not is_nuisance(p.name) and p.scope in arm["scopes"]}
    pset = base.with_values(own)
    initial = arm["initial"]
    if initial in ("first_observation", "given"):
        obs = [o for o in result.observations
               if (o["study"], o["arm"], o["subject"]) == (arm["study"], arm["arm"], arm["subject"])
               and o["time_days"] == 0]
        initial = {}
        from ..observe import observable

        for o in obs:
            ob = observable(model, o["analyte"], o["unit"], assay_scale=True)
            if ob.variable in model.index and not o.get("reference_arm") and not ob.needs_scale:
                initial[ob.variable] = o["observed"] / ob.factor
    tr = simulate(model, parse_regimen(arm["regimen"]), times=grid, params=pset, initial=initial, age=arm["age"])
    return tr


def plot_fit(result: "FitResult", model: "Model | None" = None, bands: int = 0, seed: int = 0):
    """One panel per (arm, analyte): observations with standard-error bars, fitted curve, band."""
    import matplotlib.pyplot as plt

    from ..observe import observable

    model = _model_for(result, model)
    panels = list(dict.fromkeys((o["study"], o["arm"], o["subject"], o["analyte"], o["unit"])
                                for o in result.observations))
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.4 * nrows), squeeze=False)
    arms = {(a["study"], a["arm"], a["subject"]): a for a in result.config["arms"]}
    draws = []
    if bands and result.covariance is not None:
        from .jacobian import gaussian_draws

        rng = np.random.default_rng(seed)
        theta = result.internal_estimate()
        cov = np.array(result.covariance)
        for z in gaussian_draws(rng, theta, cov, bands):
            vals = {}
            for p, x in zip(result.parameters, z):
                lo, hi = (p.lower_bound, p.upper_bound) if p.scale != "log" else (math.log10(p.lower_bound),
                                                                                  math.log10(p.upper_bound))
                x = min(max(x, lo), hi)
                vals[p.key] = 10**x if p.scale == "log" else x
            draws.append(vals)
    for k, (study, arm, subject, analyte, unit) in enumerate(panels):
        ax = axes[k // ncols][k % ncols]
        unit_key = (study, arm, subject)
        obs = [o for o in result.observations
               if (o["study"], o["arm"], o["subject"], o["analyte"]) == (*unit_key, analyte)]
        t_max = max(o["time_days"] for o in obs)
        grid = np.linspace(0, max(t_max * 1.15, 1.0), 200)
        by_age = obs[0].get("age_years") is not None  # the age axis: days since the start age
        x_of = (lambda t: arms[unit_key]["age"] + np.asarray(t) / DAYS_PER_YEAR) if by_age else (lambda t: t)
        ob = observable(model, analyte, unit, assay_scale=True)
        scale_key = f"scale_{analyte}__{re.sub(r'[^0-9A-Za-z_]', '_', study)}"
        reference = obs[0].get("reference_arm") or ""
        ref_key = (study, reference, "")

        def curve(vals):
            """The fitted curve: the observable, or its ratio to the reference arm's (relative data)."""
            values = _curves(result, model, vals, arms[unit_key], grid, None)[ob.variable]
            if reference and ref_key in arms:
                with np.errstate(divide="ignore", invalid="ignore"):
                    return values / _curves(result, model, vals, arms[ref_key], grid, None)[ob.variable]
            return values * ob.factor * vals.get(scale_key, 1.0)

        ax.plot(x_of(grid), curve(result.values), color="C0", lw=1.8, label="fit")
        if draws:
            curves = []
            for vals in draws:
                try:
                    curves.append(curve(vals))
                except Exception:  # noqa: BLE001 - a failed draw is left out of the band
                    continue
            if curves:
                lo, hi = np.percentile(np.array(curves), [2.5, 97.5], axis=0)
                ax.fill_between(x_of(grid), lo, hi, color="C0", alpha=0.2, lw=0, label="95% band (parameters)")
        for o in obs:
            err = None
            if o["sigma_source"].startswith("standard error"):
                se = o["sigma"] * o["observed"] if result.config["error_model"] == "lognormal" else o["sigma"]
                err = Z * se
            marker = "v" if o["censored"] == "below" else ("^" if o["censored"] == "above" else "o")
            face = "white" if not o["used"] else "C3"
            ax.errorbar(x_of(o["time_days"]), o["observed"], yerr=err, fmt=marker, color="C3", mfc=face, capsize=3,
                        ms=6)
        title = f"{study} / {arm}" + (f" / {subject}" if subject else "")
        ax.set_title(textwrap.shorten(title, width=60, placeholder="..."), fontsize=9)
        ax.set_xlabel("Age [year]" if by_age else "Time since first treatment [day]")
        if by_age and analyte in ("primordial", "AMH"):
            ax.set_yscale("log")
        ax.set_ylabel(f"{analyte} [{unit}" + (f" of {reference}]" if reference else "]"))
        ax.grid(alpha=0.3)
    for k in range(len(panels), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    axes[0][0].legend(fontsize=8, frameon=False)
    fig.suptitle(f"{result.config.get('name', 'fit')}: data (±1.96 SE where published) and fit", fontsize=10)
    fig.tight_layout()
    return fig


Z = 1.959963984540054


def plot_profiles(result: "FitResult"):
    """Δχ² profile of each profiled parameter with the 95% threshold."""
    import matplotlib.pyplot as plt

    keys = list(result.profiles)
    if not keys:
        raise ValueError("no profiles in this result: fit(..., profiles=True)")
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        prof = result.profiles[key]
        p = result[key]
        ax.plot(prof["values"], np.array(prof["chi2"]) - result.chi2, "o-", ms=3)
        ax.axhline(prof["threshold"], color="0.5", ls="--", lw=1)
        ax.axvline(p.value, color="C3", lw=1)
        if p.scale == "log":
            ax.set_xscale("log")
        ax.set_xlabel(f"{key} [{p.unit}]")
        ax.set_ylabel("Δχ²")
        ax.set_title(prof["flag"], fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_corner(result: "FitResult"):
    """Pairwise scatter and marginal histograms of the stored posterior samples."""
    import matplotlib.pyplot as plt

    if not result.samples:
        raise ValueError("no samples in this result")
    names = result.samples["names"]
    chain = np.array(result.samples["values"])
    n = len(names)
    fig, axes = plt.subplots(n, n, figsize=(2.4 * n, 2.4 * n), squeeze=False)
    for i in range(n):
        for j in range(n):
            ax = axes[i][j]
            if j > i:
                ax.set_visible(False)
            elif i == j:
                ax.hist(chain[:, i], bins=30, color="C0")
            else:
                ax.plot(chain[:, j], chain[:, i], ".", ms=1, alpha=0.3)
            if i == n - 1:
                ax.set_xlabel(names[j], fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(names[i], fontsize=8)
    fig.tight_layout()
    return fig


def plot_residuals(result: "FitResult"):
    """Standardised residuals against time and against prediction, coloured by analyte."""
    import matplotlib.pyplot as plt

    obs = [o for o in result.observations if o["used"] and o["residual"] is not None]
    analytes = list(dict.fromkeys(o["analyte"] for o in obs))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for k, analyte in enumerate(analytes):
        sel = [o for o in obs if o["analyte"] == analyte]
        x = [o["age_years"] if o.get("age_years") is not None else o["time_days"] for o in sel]
        a1.plot(x, [o["residual"] for o in sel], "o", color=f"C{k}", label=analyte)
        a2.plot([o["predicted"] for o in sel], [o["residual"] for o in sel], "o", color=f"C{k}")
    for ax in (a1, a2):
        ax.axhline(0, color="0.3", lw=1)
        for y in (-2, 2):
            ax.axhline(y, color="0.6", lw=0.8, ls="--")
        ax.set_ylabel("standardised residual")
        ax.grid(alpha=0.3)
    by_age = any(o.get("age_years") is not None for o in obs)
    a1.set_xlabel("Age [year] or day since first treatment" if by_age else "Time since first treatment [day]")
    a2.set_xlabel("prediction [analyte units]")
    a2.set_xscale("log")
    a1.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
