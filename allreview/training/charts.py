"""Pictures for the model registry and the training pages, as PNG bytes (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from allreview.lib.charts import figure_png as _png
from classifier.plots import confusion_figure, reliability_figure

# Margin either side of the weeks on the drift chart's time axis.
DRIFT_PAD = timedelta(days=4)


def curves_png(history: Sequence[dict[str, Any]], title: str = "") -> bytes:
    """Loss and validation weighted F1 per epoch."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
    epochs = [h.get("epoch") for h in history]
    left.plot(epochs, [h.get("train_loss") for h in history], "o-", label="train")
    left.plot(epochs, [h.get("val_loss") for h in history], "s--", label="validation")
    left.set(xlabel="epoch", ylabel="loss", title="loss")
    left.legend()
    right.plot(epochs, [h.get("val_weighted_f1") for h in history], "o-", label="weighted F1")
    right.set(xlabel="epoch", ylim=(0, 1.02), title="validation weighted F1")
    if title:
        fig.suptitle(title)
    if not history:
        left.text(0.5, 0.5, "no epoch finished yet", ha="center", transform=left.transAxes)
    return _png(fig)


def confusion_png(confusion: Sequence[Sequence[int]] | None) -> bytes:
    return _png(confusion_figure(confusion or [[0, 0], [0, 0]], "frozen evaluation set"))


def reliability_png(targets: Sequence[int], probabilities: Sequence[float]) -> bytes:
    return _png(reliability_figure(targets, probabilities))


def drift_png(rows: Sequence[dict[str, Any]]) -> bytes:
    return _png(drift_figure(rows))


def drift_figure(rows: Sequence[dict[str, Any]]) -> Figure:
    """Override rate, predicted blast rate and mean uncertainty per week, a line per model. The
    time axis spans the weeks that have data (a few days either side), never years."""
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    series = (
        ("override_rate", "override rate"),
        ("blast_rate", "predicted blast rate"),
        ("mean_uncertainty", "mean uncertainty"),
    )
    models = sorted({r["model_version__name"] for r in rows})
    weeks = sorted({r["week"] for r in rows})
    for ax, (key, title) in zip(axes, series, strict=True):
        for marker, model in zip("os^dv<>", models, strict=False):
            points = [(r["week"], r[key]) for r in rows if r["model_version__name"] == model]
            points = [(w, v) for w, v in points if v is not None]
            if points:
                ax.plot(*zip(*points, strict=True), marker=marker, label=model)
        ax.set(title=title, ylim=(0, None))
        if weeks:
            ax.set_xlim(weeks[0] - DRIFT_PAD, weeks[-1] + DRIFT_PAD)
            ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=2, maxticks=6))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    if models:
        axes[0].legend(fontsize=7)
    else:
        axes[1].text(0.5, 0.5, "no predictions yet", ha="center", transform=axes[1].transAxes)
    return fig
