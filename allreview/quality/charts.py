"""A reader's confusion matrix on reference cells as SVG text (no matplotlib in the web process)."""

from __future__ import annotations

from allreview.lib.svgcharts import heatmap_svg
from allreview.quality.stats import ANSWERS, CALL_NAMES, CALLS, ReaderFigures


def confusion_svg(figures: ReaderFigures) -> str:
    """Rows: the known answer (blast, normal); columns: the reader's call (blast, normal,
    unsure; an artifact call counts as unsure)."""
    return heatmap_svg(
        figures.confusion,
        rows=[CALL_NAMES[a] for a in ANSWERS],
        columns=[CALL_NAMES[c] for c in CALLS],
        xlabel=f"{figures.reader} called",
        ylabel="known answer",
        title=f"{figures.reader}: {figures.n} reference read{'s' if figures.n != 1 else ''}",
        width=340,
        height=240,
    )
