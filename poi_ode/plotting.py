"""Matplotlib figures: trajectories (more figures come with fitting and prediction)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .simulate import Trajectory

__all__ = ["plot_trajectory", "plot_trajectories"]

LABELS = {
    "AMH": "AMH",
    "FSH": "FSH",
    "E2": "Estradiol",
    "InhB": "Inhibin B",
    "F_prim": "Primordial follicles",
    "AFC": "Antral follicles",
    "Phi": "Paracrine effect Φ",
    "C_pro": "Pro-inflammatory tone",
    "D": "Damage index",
    "M_ov": "MSCs in ovary",
}


def _label(name: str, unit: str) -> str:
    text = LABELS.get(name, name)
    return f"{text} [{unit}]" if unit and unit != "1" else text


def plot_trajectories(
    trajectories: "Sequence[Trajectory]",
    variables: Sequence[str] = ("AMH", "FSH", "E2", "F_prim"),
    labels: Sequence[str] | None = None,
    ncols: int = 2,
    logy: Sequence[str] = ("F_prim",),
    title: str | None = None,
):
    """One panel per variable, one line per trajectory; dose times marked. Returns the figure."""
    import matplotlib.pyplot as plt

    nrows = -(-len(variables) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.2 * nrows), squeeze=False, sharex=True)
    for k, name in enumerate(variables):
        ax = axes[k // ncols][k % ncols]
        for i, tr in enumerate(trajectories):
            label = labels[i] if labels is not None else None
            ax.plot(tr.time, tr[name], label=label, lw=1.6)
        unit = trajectories[0].units.get(name, "")
        ax.set_ylabel(_label(name, unit))
        if name in logy:
            ax.set_yscale("log")
        for d in trajectories[-1].regimen:
            ax.axvline(d.time, color="0.8", lw=0.8, zorder=0)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("Time since start [day]")
    for k in range(len(variables), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    if labels is not None:
        axes[0][0].legend(fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_trajectory(tr: "Trajectory", variables: Sequence[str] = ("AMH", "FSH", "E2", "F_prim"), ax=None, **kwargs):
    """Plot one trajectory (see :func:`plot_trajectories`)."""
    if ax is not None:
        for name in variables:
            ax.plot(tr.time, tr[name], label=_label(name, tr.units.get(name, "")))
        ax.set_xlabel("Time since start [day]")
        ax.legend(fontsize=8, frameon=False)
        return ax.figure
    return plot_trajectories([tr], variables, **kwargs)
