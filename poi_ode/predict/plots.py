"""Figures of predictions: dose-response curves with bands, regimen comparisons."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from . import DoseResponse, RegimenComparison

__all__ = ["plot_dose_response", "plot_comparison"]


def _label(name: str, unit: str) -> str:
    return f"{name} [{unit}]" if unit and unit != "1" else name


def plot_dose_response(results: "Sequence[DoseResponse]", endpoints: Sequence[str] | None = None, labels=None):
    """Panels per endpoint; each result a curve (nominal), its band and a dotted control line."""
    import matplotlib.pyplot as plt

    first = results[0]
    names = list(endpoints or first.endpoints)
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.8 * ncols, 3.5 * nrows), squeeze=False)
    for k, name in enumerate(names):
        ax = axes[k // ncols][k % ncols]
        for c, dr in enumerate(results):
            j = dr.endpoints.index(name)
            color = f"C{c}"
            label = labels[c] if labels else f"{dr.agent} ({dr.route})"
            ax.plot(dr.doses, dr.nominal[:, j], color=color, lw=1.8, label=label)
            if len(dr.draws):
                tail = (1 - dr.level) / 2 * 100
                with np.errstate(all="ignore"):
                    lo = np.nanpercentile(dr.draws[:, :, j], tail, axis=0)
                    hi = np.nanpercentile(dr.draws[:, :, j], 100 - tail, axis=0)
                ax.fill_between(dr.doses, lo, hi, color=color, alpha=0.18, lw=0)
            ax.axhline(dr.control[j], color=color, ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel(f"dose per administration [{first.unit}]" if len(results) == 1 or len({r.unit for r in results}) == 1
                      else "dose per administration")
        ax.set_ylabel(_label(name, first.endpoint_units[first.endpoints.index(name)]))
        ax.grid(alpha=0.3, which="both")
    for k in range(len(names), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    axes[0][0].legend(fontsize=8, frameon=False)
    band = f"{int(first.level * 100)}% band: {first.uncertainty_note}" if len(first.draws) else "no band (point prediction)"
    fig.suptitle(f"Dose-response; dotted: without treatment; {band}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_comparison(comp: "RegimenComparison"):
    """One horizontal bar panel per endpoint: nominal value and interval per regimen."""
    import matplotlib.pyplot as plt

    n = len(comp.endpoints)
    fig, axes = plt.subplots(1, n, figsize=(4.4 * n, 0.45 * len(comp.names) + 1.6), squeeze=False)
    y = np.arange(len(comp.names))
    for j, name in enumerate(comp.endpoints):
        ax = axes[0][j]
        ax.barh(y, comp.nominal[:, j], color="C0", alpha=0.7)
        if len(comp.draws):
            tail = (1 - comp.level) / 2 * 100
            with np.errstate(all="ignore"):
                lo = np.nanpercentile(comp.draws[:, :, j], tail, axis=0)
                hi = np.nanpercentile(comp.draws[:, :, j], 100 - tail, axis=0)
            ax.errorbar(comp.nominal[:, j], y, xerr=[np.maximum(comp.nominal[:, j] - lo, 0), np.maximum(hi - comp.nominal[:, j], 0)],
                        fmt="none", ecolor="k", capsize=3)
        ax.set_yticks(y, comp.names if j == 0 else [""] * len(y), fontsize=8)
        ax.set_xlabel(_label(name, comp.endpoint_units[j]))
        ax.grid(alpha=0.3, axis="x")
    band = f"bars: {int(comp.level * 100)}% interval, {comp.uncertainty_note}" if len(comp.draws) else "point predictions"
    fig.suptitle(f"Regimen comparison ({band})", fontsize=9)
    fig.tight_layout()
    return fig
