"""Forest-style figure of published against predicted pooled effects."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["plot_forest"]


def plot_forest(table: "pd.DataFrame", title: str = ""):
    """One line per pooled effect: the published estimate and 95% CI (black) and the prediction with its
    parameter-uncertainty interval (blue: fitted, orange: held out), grouped by analyte.

    Parameters
    ----------
    table : DataFrame
        Columns ``analyte, subgroup, meta_analysis, published, published_lower, published_upper,
        predicted, predicted_lower, predicted_upper, held_out`` (SMD units).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    rows = table.sort_values(["analyte", "held_out", "meta_analysis", "subgroup"], kind="stable").reset_index(drop=True)
    height = max(3.0, 0.28 * len(rows) + 1.2)
    fig, ax = plt.subplots(figsize=(8.5, height))
    labels = []
    for i, r in rows.iterrows():
        y = len(rows) - 1 - i
        ax.plot([r["published_lower"], r["published_upper"]], [y + 0.12] * 2, color="black", lw=1.2)
        ax.plot(r["published"], y + 0.12, "s", color="black", ms=5)
        colour = "tab:orange" if r["held_out"] else "tab:blue"
        ax.plot([r["predicted_lower"], r["predicted_upper"]], [y - 0.12] * 2, color=colour, lw=2.2)
        ax.plot(r["predicted"], y - 0.12, "o", color=colour, ms=5, mfc="white" if r["held_out"] else colour)
        labels.append(f"{r['analyte']} | {r['subgroup']} ({r['meta_analysis']})")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels[::-1], fontsize=7)
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("standardised mean difference (treated vs untreated POI)")
    ax.plot([], [], "s-", color="black", label="published (95% CI)")
    ax.plot([], [], "o-", color="tab:blue", label="predicted, fitted subgroup (95% parameter band)")
    ax.plot([], [], "o-", color="tab:orange", mfc="white", label="predicted, held-out subgroup")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig
