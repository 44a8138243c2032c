from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt

from allreview.lib.charts import figure_png


def kappa_png(rows: Sequence[dict[str, Any]]) -> bytes:
    """Cohen's kappa per month: a line per pair (model-vs-reader solid, reader-vs-reader dashed)."""
    monthly = [r for r in rows if r["period"] != "all" and r["kappa"] is not None]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for a, b in sorted({(r["a"], r["b"]) for r in monthly}):
        points = sorted((r["period"], r["kappa"]) for r in monthly if (r["a"], r["b"]) == (a, b))
        style = "o-" if a == "model" else "s--"
        ax.plot([p for p, _ in points], [k for _, k in points], style, label=f"{a} vs {b}")
    ax.set(ylim=(-0.1, 1.05), ylabel="Cohen's kappa", title="agreement per month")
    ax.axhline(0.6, color="grey", lw=0.8, ls=":")
    if monthly:
        ax.legend(fontsize=7, loc="lower left")
    else:
        ax.text(0.5, 0.5, "not enough paired reads yet", ha="center", transform=ax.transAxes)
    return figure_png(fig)
