"""The agreement chart as SVG text drawn in plain Python (no matplotlib in the web process)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from allreview.lib.svgcharts import Panel, Series, panels_svg

# Cohen's kappa above this reads as substantial agreement (Landis & Koch); drawn as a guide.
SUBSTANTIAL = 0.6


def kappa_svg(rows: Sequence[dict[str, Any]]) -> str:
    """Cohen's kappa per month: a line per pair (model-vs-reader solid, reader-vs-reader dashed).
    Months are evenly spaced, in order, and labelled on the x axis."""
    monthly = [r for r in rows if r["period"] != "all" and r["kappa"] is not None]
    months = sorted({r["period"] for r in monthly})
    position = {month: i for i, month in enumerate(months)}
    series = []
    for a, b in sorted({(r["a"], r["b"]) for r in monthly}):
        points = sorted(
            (position[r["period"]], r["kappa"]) for r in monthly if (r["a"], r["b"]) == (a, b)
        )
        model = a == "model"
        series.append(Series(f"{a} vs {b}", points, dashed=not model, marker="o" if model else "s"))
    panel = Panel(
        title="agreement per month",
        ylabel="Cohen's kappa",
        categories=[str(m) for m in months],
        series=series,
        xlim=(-0.5, max(len(months) - 0.5, 0.5)),
        ylim=(-0.1, 1.05),
        hlines=[SUBSTANTIAL],
        empty_note="not enough paired reads yet",
    )
    return panels_svg([panel], width=800, height=320, label="Cohen's kappa per month")
