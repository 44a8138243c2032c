"""Pictures for the model registry and the training pages, as SVG text drawn in plain Python
(allreview.lib.svgcharts): the web process must not import matplotlib, numpy-heavy metrics or
torch to draw a chart (see docs/benchmarks.md, "Web process without the ML stack")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from allreview.lib.svgcharts import Panel, Series, heatmap_svg, panels_svg

# Margin either side of the weeks on the drift chart's time axis.
DRIFT_PAD = timedelta(days=4)
RELIABILITY_BINS = 10


def curves_svg(history: Sequence[dict[str, Any]], title: str = "") -> str:
    """Loss and validation weighted F1 per epoch."""
    epochs: list[Any] = [h.get("epoch") for h in history]  # JSON, as the run recorded it
    loss = Panel(
        title="loss",
        xlabel="epoch",
        ylabel="loss",
        series=[
            Series(
                "train", [(e, h.get("train_loss")) for e, h in zip(epochs, history, strict=True)]
            ),
            Series(
                "validation",
                [(e, h.get("val_loss")) for e, h in zip(epochs, history, strict=True)],
                dashed=True,
                marker="s",
            ),
        ],
        ylim=(0, None),
        empty_note="no epoch finished yet",
    )
    f1 = Panel(
        title="validation weighted F1",
        xlabel="epoch",
        series=[
            Series(
                "weighted F1",
                [(e, h.get("val_weighted_f1")) for e, h in zip(epochs, history, strict=True)],
            )
        ],
        ylim=(0, 1.02),
    )
    return panels_svg(
        [loss, f1],
        width=800,
        height=300,
        title=title,
        label="Training loss and validation weighted F1 per epoch",
    )


def confusion_svg(confusion: Sequence[Sequence[int]] | None) -> str:
    """Rows: true hem/all; columns: predicted hem/all."""
    return heatmap_svg(
        confusion or [[0, 0], [0, 0]],
        rows=["hem", "all"],
        columns=["hem", "all"],
        xlabel="predicted",
        ylabel="true",
        title="frozen evaluation set",
    )


def reliability_bins(
    targets: Sequence[int], probabilities: Sequence[float], bins: int = RELIABILITY_BINS
) -> list[tuple[float, float, int]]:
    """(mean probability, observed blast frequency, count) per non-empty bin: the same bins as
    classifier.metrics.reliability_bins, without numpy or torch."""
    sums: dict[int, list[float]] = {}
    for target, probability in zip(targets, probabilities, strict=True):
        index = min(int(probability * bins), bins - 1)
        acc = sums.setdefault(index, [0.0, 0.0, 0])
        acc[0] += probability
        acc[1] += target
        acc[2] += 1
    return [(p / n, y / n, int(n)) for _, (p, y, n) in sorted(sums.items())]


def reliability_svg(targets: Sequence[int], probabilities: Sequence[float]) -> str:
    """Observed blast frequency against predicted probability; the diagonal is perfect."""
    points = [(p, y) for p, y, _ in reliability_bins(targets, probabilities)]
    panel = Panel(
        title="reliability",
        xlabel="predicted blast probability",
        ylabel="observed blast frequency",
        series=[Series("observed", points)] if points else [],
        xlim=(0, 1),
        ylim=(0, 1),
        diagonal=True,
        legend=False,
        empty_note="no scored cells yet",
    )
    return panels_svg([panel], width=360, height=320, label="Reliability diagram")


def drift_panels(rows: Sequence[dict[str, Any]]) -> list[Panel]:
    """Override rate, predicted blast rate and mean uncertainty per week, a line per model. The
    time axis spans the weeks that have data (a few days either side), never years."""
    models = sorted({r["model_version__name"] for r in rows})
    weeks = sorted({r["week"] for r in rows})
    panels = []
    for key, title in (
        ("override_rate", "override rate"),
        ("blast_rate", "predicted blast rate"),
        ("mean_uncertainty", "mean uncertainty"),
    ):
        series = [
            Series(
                model,
                [(r["week"], r[key]) for r in rows if r["model_version__name"] == model],
                marker="os^"[index % 3],
            )
            for index, model in enumerate(models)
        ]
        panels.append(
            Panel(
                title=title,
                series=series,  # a model keeps its colour in all three panels
                xlim=(weeks[0] - DRIFT_PAD, weeks[-1] + DRIFT_PAD) if weeks else None,
                ylim=(0, None),
                legend=key == "override_rate",
                empty_note="no predictions yet" if key == "blast_rate" else "",
            )
        )
    return panels


def drift_svg(rows: Sequence[dict[str, Any]]) -> str:
    return panels_svg(
        drift_panels(rows),
        width=1000,
        height=300,
        label="Override rate, predicted blast rate and mean uncertainty per week and model",
    )
