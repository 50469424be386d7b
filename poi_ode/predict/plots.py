"""Figures of predictions: dose-response curves with bands, regimen comparisons."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .regimens import RegimenComparison
    from .response import DoseResponse

__all__ = ["plot_dose_response", "plot_comparison"]


def _wrap(text: str, fig) -> str:
    """Wrap a title to the figure's width (about 16 characters per inch at 9 pt)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, max(40, int(fig.get_figwidth() * 16))))


def axis_label(name: str, unit: str) -> str:
    return f"{name} [{unit}]" if unit and unit != "1" else name


def plot_dose_response(results: "Sequence[DoseResponse]", endpoints: Sequence[str] | None = None, labels=None,
                       effect: bool = False):
    """Panels per endpoint; each result a curve (nominal), its band and a dotted control line.

    With ``effect=True`` the panels show the effect against the untreated control, the band
    paired within each draw (baseline uncertainty then cancels).
    """
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
            shift = dr.control[j] if effect else 0.0
            ax.plot(dr.doses, dr.nominal[:, j] - shift, color=color, lw=1.8, label=label)
            if len(dr.draws):
                tail = (1 - dr.level) / 2 * 100
                values = dr.draws[:, :, j] - (dr.control_draws[:, j][:, None] if effect else 0.0)
                with np.errstate(all="ignore"):
                    lo = np.nanpercentile(values, tail, axis=0)
                    hi = np.nanpercentile(values, 100 - tail, axis=0)
                ax.fill_between(dr.doses, lo, hi, color=color, alpha=0.18, lw=0)
            ax.axhline(0.0 if effect else dr.control[j], color=color, ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel(f"dose per administration [{first.unit}]" if len(results) == 1
                      or len({r.unit for r in results}) == 1
                      else "dose per administration")
        ylabel = axis_label(name, first.endpoint_units[first.endpoints.index(name)])
        ax.set_ylabel(f"effect on {ylabel}" if effect else ylabel)
        ax.grid(alpha=0.3, which="both")
    for k in range(len(names), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    axes[0][0].legend(fontsize=8, frameon=False)
    band = (f"{int(first.level * 100)}% band: {first.uncertainty_note}" if len(first.draws)
            else "no band (point prediction)")
    what = "Effect against no treatment (paired within draws)" if effect else "Dose-response; dotted: without treatment"
    fig.suptitle(_wrap(f"{what}; {band}", fig), fontsize=9)
    fig.tight_layout()
    return fig


def plot_comparison(comp: "RegimenComparison"):
    """One horizontal bar panel per endpoint: nominal value and interval per regimen."""
    import matplotlib.pyplot as plt

    n = len(comp.endpoints)
    fig, axes = plt.subplots(1, n, figsize=(4.4 * n, 0.45 * len(comp.names) + 1.6), squeeze=False)
    y = np.arange(len(comp.names))
    ref = comp.names.index(comp.reference) if comp.reference is not None else None
    for j, name in enumerate(comp.endpoints):
        ax = axes[0][j]
        base = comp.nominal[ref, j] if ref is not None else 0.0
        value = comp.nominal[:, j] - base
        ax.barh(y, value, color="C0", alpha=0.7)
        if len(comp.draws):
            tail = (1 - comp.level) / 2 * 100
            draws = comp.draws[:, :, j] - (comp.draws[:, ref, j][:, None] if ref is not None else 0.0)
            with np.errstate(all="ignore"):
                lo = np.nanpercentile(draws, tail, axis=0)
                hi = np.nanpercentile(draws, 100 - tail, axis=0)
            ax.errorbar(value, y, xerr=[np.maximum(value - lo, 0), np.maximum(hi - value, 0)],
                        fmt="none", ecolor="k", capsize=3)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(y, comp.names if j == 0 else [""] * len(y), fontsize=8)
        label = axis_label(name, comp.endpoint_units[j])
        ax.set_xlabel(f"effect on {label}" if ref is not None else label)
        ax.grid(alpha=0.3, axis="x")
    band = (f"bars: {int(comp.level * 100)}% interval, {comp.uncertainty_note}" if len(comp.draws)
            else "point predictions")
    against = f", against {comp.reference!r} paired within draws" if ref is not None else ""
    fig.suptitle(_wrap(f"Regimen comparison{against} ({band})", fig), fontsize=9)
    fig.tight_layout()
    return fig
