"""PNG plots of training curves and evaluation results (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no display on servers and workers

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from classifier.metrics import reliability_bins  # noqa: E402

if TYPE_CHECKING:
    from classifier.train import EpochReport


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def training_curves(history: Sequence[EpochReport], path: Path, title: str = "") -> Path:
    """Loss (train, validation) and validation weighted F1 / AUC per epoch."""
    epochs = [h.epoch for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.plot(epochs, [h.train_loss for h in history], "o-", label="train")
    left.plot(epochs, [h.val_loss for h in history], "o-", label="validation")
    left.set(xlabel="epoch", ylabel="weighted BCE loss", title="loss")
    left.legend()
    right.plot(epochs, [h.val_weighted_f1 for h in history], "o-", label="weighted F1")
    right.plot(epochs, [h.val_roc_auc for h in history], "o-", label="ROC AUC")
    right.set(xlabel="epoch", ylim=(0, 1), title="validation (threshold 0.5, before calibration)")
    right.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def confusion_figure(confusion: Sequence[Sequence[int]], title: str = "confusion matrix") -> Figure:
    """Rows: true hem/all; columns: predicted hem/all."""
    cm = np.asarray(confusion)
    fig, ax = plt.subplots(figsize=(3.8, 3.4))
    ax.imshow(cm, cmap="Blues")
    for (i, j), value in np.ndenumerate(cm):
        colour = "white" if value > cm.max() / 2 else "black"
        ax.text(j, i, str(value), ha="center", va="center", color=colour)
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["hem", "all"],
        yticklabels=["hem", "all"],
        xlabel="predicted",
        ylabel="true",
        title=title,
    )
    return fig


def confusion_plot(confusion: Sequence[Sequence[int]], path: Path) -> Path:
    return _save(confusion_figure(confusion), path)


def roc_plot(targets: Sequence[int], probabilities: Sequence[float], path: Path) -> Path:
    fpr, tpr, _ = roc_curve(targets, probabilities)
    fig, ax = plt.subplots(figsize=(3.8, 3.6))
    ax.plot(fpr, tpr)
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.set(xlabel="1 - specificity", ylabel="sensitivity (blast)", title="ROC")
    return _save(fig, path)


def reliability_figure(targets: Sequence[int], probabilities: Sequence[float]) -> Figure:
    """Observed blast frequency against predicted probability; the diagonal is perfect."""
    fig, ax = plt.subplots(figsize=(3.8, 3.6))
    ax.plot([0, 1], [0, 1], "--", color="grey")
    if len(targets):
        bins = reliability_bins(np.asarray(targets), np.asarray(probabilities))
        ax.plot(bins["confidence"], bins["frequency"], "o-")
    ax.set(
        xlabel="predicted blast probability",
        ylabel="observed blast frequency",
        title="reliability",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    return fig


def reliability_plot(targets: Sequence[int], probabilities: Sequence[float], path: Path) -> Path:
    return _save(reliability_figure(targets, probabilities), path)


def evaluation_plots(
    targets: Sequence[int],
    probabilities: Sequence[float],
    confusion: Sequence[Sequence[int]],
    folder: Path,
) -> list[Path]:
    paths = [confusion_plot(confusion, folder / "confusion.png")]
    if len(set(targets)) == 2:
        paths.append(roc_plot(targets, probabilities, folder / "roc.png"))
    if len(targets):
        paths.append(reliability_plot(targets, probabilities, folder / "reliability.png"))
    return paths


def patient_accuracy_plot(
    per_patient: dict[str, float], sizes: dict[str, int], path: Path, title: str = ""
) -> Path:
    """One bar per patient (healthy `H…` patients left, leukaemia right), its share of cells
    called right; the bar's label is its cell count. Shows at a glance which patients a model
    fails, which the cell-level figures hide."""
    names = sorted(per_patient, key=lambda p: (not p.startswith("H"), -sizes.get(p, 0), p))
    colours = ["tab:green" if p.startswith("H") else "tab:red" for p in names]
    fig, ax = plt.subplots(figsize=(max(6, 0.28 * len(names)), 3.6))
    ax.bar(range(len(names)), [per_patient[p] for p in names], color=colours)
    ax.set_xticks(range(len(names)), [f"{p} ({sizes.get(p, 0)})" for p in names], rotation=90)
    ax.set(ylim=(0, 1.05), ylabel="cells called right", title=title or "per-patient accuracy")
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    return _save(fig, path)
