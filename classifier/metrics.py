"""Challenge metrics (scikit-learn), calibration error, temperature scaling and threshold choice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)


@dataclass
class Metrics:
    weighted_f1: float  # the C-NMC challenge score
    accuracy: float
    precision: float  # weighted, as the paper's code reports it
    recall: float
    roc_auc: float  # nan when only one class is present
    sensitivity: float  # blast ("all") recall
    specificity: float  # normal ("hem") recall
    ece: float
    threshold: float
    confusion: list[list[int]]  # rows true hem/all, columns predicted hem/all
    per_patient_accuracy: dict[str, float] = field(default_factory=dict)
    count: int = 0

    def scalars(self) -> dict[str, float]:
        """The single-number metrics, for JSON and for TrainResult.metrics."""
        data = asdict(self)
        return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}


def compute_metrics(
    targets: Sequence[int] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    *,
    threshold: float = 0.5,
    patients: Sequence[str] | None = None,
) -> Metrics:
    """Metrics of blast probabilities against targets (1 = all, 0 = hem)."""
    y = np.asarray(targets, dtype=int)
    p = np.asarray(probabilities, dtype=float)
    pred = (p >= threshold).astype(int)
    cm = confusion_matrix(y, pred, labels=[0, 1])
    tn, fp, fn, tp = cm.ravel()
    return Metrics(
        weighted_f1=float(f1_score(y, pred, average="weighted", zero_division=0)),
        accuracy=float(accuracy_score(y, pred)),
        precision=float(precision_score(y, pred, average="weighted", zero_division=0)),
        recall=float(recall_score(y, pred, average="weighted", zero_division=0)),
        roc_auc=float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else float("nan"),
        sensitivity=_ratio(tp, tp + fn),
        specificity=_ratio(tn, tn + fp),
        ece=expected_calibration_error(y, p),
        threshold=float(threshold),
        confusion=cm.tolist(),
        per_patient_accuracy=_per_patient(y, pred, patients),
        count=int(len(y)),
    )


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")


def _per_patient(y: np.ndarray, pred: np.ndarray, patients: Sequence[str] | None) -> dict:
    if patients is None:
        return {}
    hits: dict[str, list[bool]] = defaultdict(list)
    for patient, truth, guess in zip(patients, y, pred, strict=True):
        hits[patient].append(bool(truth == guess))
    return {k: float(np.mean(v)) for k, v in sorted(hits.items())}


def expected_calibration_error(
    targets: np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> float:
    """ECE over equal-width bins of the blast probability: sum of |frequency - confidence|
    weighted by the bin's share of samples."""
    y = np.asarray(targets, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    if len(p) == 0:
        return float("nan")
    index = np.minimum((p * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            ece += mask.mean() * abs(y[mask].mean() - p[mask].mean())
    return float(ece)


def reliability_bins(targets: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> dict:
    """Per-bin mean probability, observed frequency and count, for the reliability diagram."""
    y, p = np.asarray(targets, float), np.asarray(probabilities, float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    rows = [
        (p[index == b].mean(), y[index == b].mean(), int((index == b).sum()))
        for b in range(bins)
        if (index == b).any()
    ]
    conf, freq, count = zip(*rows, strict=True) if rows else ((), (), ())
    return {"confidence": list(conf), "frequency": list(freq), "count": list(count)}


def fit_temperature(logits: np.ndarray, targets: np.ndarray, max_iter: int = 100) -> float:
    """Temperature T minimising the NLL of sigmoid(logit / T) (LBFGS on log T, so T > 0)."""
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(targets), dtype=torch.float64)
    if len(z) == 0 or len(torch.unique(y)) < 2:
        return 1.0
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def best_threshold(targets: np.ndarray, probabilities: np.ndarray, grid: int = 2000) -> float:
    """Probability threshold that maximises the blast class's F1. Candidates are midpoints
    between neighbouring scores (a threshold on a score itself overfits); among equally good
    ones the nearest to 0.5 wins. 0.5 when F1 is undefined (one class only)."""
    y, p = np.asarray(targets, int), np.asarray(probabilities, float)
    if len(y) == 0 or len(set(y.tolist())) < 2:
        return 0.5
    scores = np.unique(p)
    if len(scores) > grid:
        scores = np.unique(np.quantile(p, np.linspace(0, 1, grid)))
    candidates = np.concatenate([[0.5], (scores[:-1] + scores[1:]) / 2])
    pred = p[None, :] >= candidates[:, None]
    tp = (pred & (y == 1)).sum(axis=1)
    fp = (pred & (y == 0)).sum(axis=1)
    fn = ((~pred) & (y == 1)).sum(axis=1)
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])
