"""Small charts as SVG text, drawn in plain Python: the web process serves the training, drift and
agreement charts without matplotlib (which, with numpy's and its font caches, cost the web
process tens of MB and was the last ML-stack import of the URLconf). SVG stays sharp at any zoom,
weighs a few kB, and needs no worker, cache or JavaScript. Every text is XML-escaped: model and
reader names come from users."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any

# Colour-blind-safe (Okabe-Ito) palette; markers and dashes also tell the series apart.
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
FONT = "font-family='system-ui, sans-serif'"

Number = float | int
XValue = float | int | date | datetime


@dataclass
class Series:
    label: str
    points: Sequence[tuple[XValue, float | None]]
    dashed: bool = False
    marker: str = "o"  # "o" circle, "s" square, "^" triangle


@dataclass
class Panel:
    """One set of axes: lines over a numeric or date x axis."""

    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    series: list[Series] = field(default_factory=list)
    xlim: tuple[XValue, XValue] | None = None
    ylim: tuple[float | None, float | None] = (None, None)
    hlines: list[float] = field(default_factory=list)
    diagonal: bool = False
    empty_note: str = ""
    legend: bool = True
    categories: list[str] = field(default_factory=list)  # x = 0, 1, ... labelled with these


def _num(x: XValue) -> float:
    if isinstance(x, datetime):
        midnight = x.replace(hour=0, minute=0, second=0, microsecond=0)
        return x.toordinal() + (x - midnight).total_seconds() / 86400.0
    if isinstance(x, date):
        return float(x.toordinal())
    return float(x)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1-2-5 steps)."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.ceil(low / step - 1e-9) * step
    return [start + i * step for i in range(int((high - start) / step + 1e-9) + 1)]


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.2g}"


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "s":
        return f"<rect x='{x - 3:.1f}' y='{y - 3:.1f}' width='6' height='6' fill='{colour}'/>"
    if shape == "^":
        return (
            f"<polygon points='{x:.1f},{y - 3.5:.1f} {x - 3.5:.1f},{y + 3:.1f} "
            f"{x + 3.5:.1f},{y + 3:.1f}' fill='{colour}'/>"
        )
    return f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3' fill='{colour}'/>"


def _text(
    x: float, y: float, text: str, size: int = 11, anchor: str = "middle", **extra: Any
) -> str:
    attrs = "".join(f" {k.replace('_', '-')}='{v}'" for k, v in extra.items())
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}'{attrs}>"
        f"{escape(text)}</text>"
    )


def _panel(panel: Panel, left: float, top: float, width: float, height: float) -> list[str]:
    out: list[str] = []
    plot_x, plot_w = left + 46, width - 56
    # The legend sits in rows between the title and the axes, never over the lines.
    legend: list[tuple[int, float, int]] = []  # (series index, x offset, row)
    offset, row = 0.0, 0
    for index, series in enumerate(panel.series if panel.legend else []):
        span = 22 + 6 * len(series.label)
        if offset and offset + span > plot_w:
            offset, row = 0.0, row + 1
        legend.append((index, offset, row))
        offset += span
    rows = (row + 1) if legend else 0
    plot_y, plot_h = top + 22 + 14 * rows, height - 62 - 14 * rows
    dated = any(isinstance(x, date) for s in panel.series for x, _ in s.points)
    if panel.xlim is not None:
        dated = dated or isinstance(panel.xlim[0], date)
    xs = [_num(x) for s in panel.series for x, y in s.points if y is not None]
    ys = [float(y) for s in panel.series for _, y in s.points if y is not None] + panel.hlines
    x_low, x_high = (
        (_num(panel.xlim[0]), _num(panel.xlim[1]))
        if panel.xlim
        else (min(xs, default=0.0), max(xs, default=1.0))
    )
    if x_high <= x_low:
        x_low, x_high = x_low - 1, x_high + 1
    if not panel.xlim:  # keep the first and last markers off the frame
        pad = (x_high - x_low) * 0.04
        x_low, x_high = x_low - pad, x_high + pad
    y_low = panel.ylim[0] if panel.ylim[0] is not None else min(ys, default=0.0)
    y_high = panel.ylim[1] if panel.ylim[1] is not None else max(ys, default=1.0)
    if y_high <= y_low:
        y_high = y_low + 1
    if panel.ylim[1] is None:
        y_high += (y_high - y_low) * 0.05

    def sx(x: float) -> float:
        return plot_x + (x - x_low) / (x_high - x_low) * plot_w

    def sy(y: float) -> float:
        return plot_y + plot_h - (y - y_low) / (y_high - y_low) * plot_h

    out.append(_text(left + width / 2, top + 13, panel.title, 12, font_weight="600"))
    out.append(
        f"<rect x='{plot_x}' y='{plot_y}' width='{plot_w}' height='{plot_h}' "
        "fill='none' stroke='#888'/>"
    )
    for tick in _ticks(y_low, y_high):
        out.append(
            f"<line x1='{plot_x - 4}' x2='{plot_x + plot_w}' y1='{sy(tick):.1f}' "
            f"y2='{sy(tick):.1f}' stroke='#e4e4e4'/>"
        )
        out.append(_text(plot_x - 6, sy(tick) + 4, _fmt(tick), 10, "end"))
    x_format: Callable[[float], str] = _fmt
    x_ticks = _ticks(x_low, x_high, 5)
    if dated:
        # Ticks on the dates that have data (weeks), thinned to six at most.
        known = sorted(set(xs)) or [(x_low + x_high) / 2]
        x_ticks = known[:: math.ceil(len(known) / 6)]

        def x_format(t: float) -> str:
            return date.fromordinal(int(round(t))).isoformat()

    elif panel.categories:
        x_ticks = [float(i) for i in range(len(panel.categories))]

        def x_format(t: float) -> str:
            return panel.categories[int(t)]

    elif xs and all(x == int(x) for x in xs):  # epochs: whole numbers only
        whole = list(range(math.ceil(x_low), math.floor(x_high) + 1))
        x_ticks = [float(t) for t in whole[:: math.ceil(len(whole) / 8)]]
    for tick in x_ticks:
        out.append(
            f"<line x1='{sx(tick):.1f}' x2='{sx(tick):.1f}' y1='{plot_y + plot_h}' "
            f"y2='{plot_y + plot_h + 4}' stroke='#888'/>"
        )
        out.append(_text(sx(tick), plot_y + plot_h + 15, x_format(tick), 9 if dated else 10))
    if panel.xlabel:
        out.append(_text(plot_x + plot_w / 2, top + height - 6, panel.xlabel, 11))
    if panel.ylabel:
        cx, cy = left + 10, plot_y + plot_h / 2
        out.append(_text(cx, cy, panel.ylabel, 11, transform=f"rotate(-90 {cx:.1f} {cy:.1f})"))
    if panel.diagonal:
        out.append(
            f"<line x1='{sx(max(x_low, y_low)):.1f}' y1='{sy(max(x_low, y_low)):.1f}' "
            f"x2='{sx(min(x_high, y_high)):.1f}' y2='{sy(min(x_high, y_high)):.1f}' "
            "stroke='grey' stroke-dasharray='5 4'/>"
        )
    for value in panel.hlines:
        out.append(
            f"<line x1='{plot_x}' x2='{plot_x + plot_w}' y1='{sy(value):.1f}' y2='{sy(value):.1f}' "
            "stroke='grey' stroke-dasharray='2 3'/>"
        )
    for index, series in enumerate(panel.series):
        colour = COLOURS[index % len(COLOURS)]
        points = [(sx(_num(x)), sy(float(y))) for x, y in series.points if y is not None]
        if len(points) > 1:
            dash = " stroke-dasharray='6 4'" if series.dashed else ""
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(
                f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='1.6'{dash}/>"
            )
        out += [_marker(series.marker, x, y, colour) for x, y in points]
    for index, offset, row in legend:
        series = panel.series[index]
        colour = COLOURS[index % len(COLOURS)]
        y = top + 32 + 14 * row
        out.append(_marker(series.marker, plot_x + offset + 4, y - 4, colour))
        out.append(_text(plot_x + offset + 12, y, series.label, 10, "start"))
    if not any(y is not None for s in panel.series for _, y in s.points) and panel.empty_note:
        out.append(_text(plot_x + plot_w / 2, plot_y + plot_h / 2, panel.empty_note, 12))
    return out


def _document(width: int, height: int, label: str, body: list[str], title: str = "") -> str:
    head = _text(width / 2, 14, title, 13, font_weight="600") if title else ""
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' {FONT}>"
        f"<title>{escape(label)}</title><rect width='100%' height='100%' fill='white'/>"
        f"{head}{''.join(body)}</svg>"
    )


def panels_svg(
    panels: Sequence[Panel], *, width: int, height: int, label: str, title: str = ""
) -> str:
    """Panels side by side, each an equal share of the width."""
    top = 18 if title else 0
    share = width / max(len(panels), 1)
    body: list[str] = []
    for index, panel in enumerate(panels):
        body += _panel(panel, index * share, top, share, height - top)
    return _document(width, height, label, body, title)


def heatmap_svg(
    matrix: Sequence[Sequence[int]],
    *,
    rows: Sequence[str],
    columns: Sequence[str],
    xlabel: str,
    ylabel: str,
    title: str,
    width: int = 360,
    height: int = 320,
) -> str:
    """A count matrix as shaded cells with the count written in each (a confusion matrix)."""
    peak = max((v for row in matrix for v in row), default=0) or 1
    left, top = 70, 30
    cell_w = (width - left - 20) / max(len(columns), 1)
    cell_h = (height - top - 50) / max(len(rows), 1)
    body = [_text(width / 2, 18, title, 12, font_weight="600")]
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            share = value / peak
            shade = round(247 - share * (247 - 48)), round(251 - share * (251 - 107))
            fill = f"rgb({shade[0]},{shade[1]},{round(255 - share * (255 - 174))})"
            x, y = left + j * cell_w, top + i * cell_h
            body.append(
                f"<rect x='{x:.1f}' y='{y:.1f}' width='{cell_w:.1f}' height='{cell_h:.1f}' "
                f"fill='{fill}' stroke='white'/>"
            )
            ink = "white" if value > peak / 2 else "black"
            body.append(_text(x + cell_w / 2, y + cell_h / 2 + 5, str(value), 14, fill=ink))
    for j, name in enumerate(columns):
        body.append(_text(left + (j + 0.5) * cell_w, top + len(rows) * cell_h + 15, name, 11))
    for i, name in enumerate(rows):
        body.append(_text(left - 6, top + (i + 0.5) * cell_h + 4, name, 11, "end"))
    body.append(_text(left + len(columns) * cell_w / 2, height - 8, xlabel, 11))
    cx, cy = 14, top + len(rows) * cell_h / 2
    body.append(_text(cx, cy, ylabel, 11, transform=f"rotate(-90 {cx} {cy:.1f})"))
    return _document(width, height, title, body)
