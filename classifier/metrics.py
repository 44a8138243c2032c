"""Challenge metrics (scikit-learn), patient-level figures with bootstrap intervals, calibration
error, temperature scaling and threshold choice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

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

# The platform's default BLAST_FLAG_THRESHOLD: a patient is flagged when more than this share of
# its cells is called blast.
DEFAULT_FLAG_THRESHOLD = 0.2


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
    balanced_accuracy: float = float("nan")  # mean of sensitivity and specificity
    # Patient level (nan without patients): a patient's class is the majority of its cells.
    patients: int = 0
    patients_all: int = 0
    patients_hem: int = 0
    patient_macro_accuracy: float = float("nan")  # mean of per-patient cell accuracy
    patient_macro_accuracy_all: float = float("nan")  # ... over leukaemia patients
    patient_macro_accuracy_hem: float = float("nan")  # ... over healthy patients
    patient_balanced_accuracy: float = float("nan")  # mean of the two above
    flag_threshold: float = float("nan")  # blast fraction above which a patient is flagged
    patient_flag_sensitivity: float = float("nan")  # leukaemia patients flagged
    patient_flag_specificity: float = float("nan")  # healthy patients not flagged
    # Trivial baselines on the same cells: call every cell a blast, or every cell normal.
    baseline_all_blast_weighted_f1: float = float("nan")
    baseline_all_normal_weighted_f1: float = float("nan")
    baseline_all_blast_patient_macro: float = float("nan")
    baseline_all_normal_patient_macro: float = float("nan")

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
    flag_threshold: float = DEFAULT_FLAG_THRESHOLD,
) -> Metrics:
    """Metrics of blast probabilities against targets (1 = all, 0 = hem); with `patients`,
    the patient-level figures and the trivial baselines too."""
    y = np.asarray(targets, dtype=int)
    p = np.asarray(probabilities, dtype=float)
    pred = (p >= threshold).astype(int)
    cm = confusion_matrix(y, pred, labels=[0, 1])
    tn, fp, fn, tp = cm.ravel()
    sensitivity, specificity = _ratio(tp, tp + fn), _ratio(tn, tn + fp)
    extra = {}
    if patients is not None and len(y):
        extra = asdict(patient_metrics(y, pred, list(patients), flag_threshold=flag_threshold))
    return Metrics(
        weighted_f1=float(f1_score(y, pred, average="weighted", zero_division=0)),
        accuracy=float(accuracy_score(y, pred)),
        precision=float(precision_score(y, pred, average="weighted", zero_division=0)),
        recall=float(recall_score(y, pred, average="weighted", zero_division=0)),
        roc_auc=float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else float("nan"),
        sensitivity=sensitivity,
        specificity=specificity,
        ece=expected_calibration_error(y, p),
        threshold=float(threshold),
        confusion=cm.tolist(),
        per_patient_accuracy=_per_patient(y, pred, patients),
        count=int(len(y)),
        balanced_accuracy=float(np.nanmean([sensitivity, specificity])) if len(y) else float("nan"),
        **extra,
    )


@dataclass
class PatientMetrics:
    patients: int
    patients_all: int
    patients_hem: int
    patient_macro_accuracy: float
    patient_macro_accuracy_all: float
    patient_macro_accuracy_hem: float
    patient_balanced_accuracy: float
    flag_threshold: float
    patient_flag_sensitivity: float
    patient_flag_specificity: float
    baseline_all_blast_weighted_f1: float
    baseline_all_normal_weighted_f1: float
    baseline_all_blast_patient_macro: float
    baseline_all_normal_patient_macro: float


def patient_metrics(
    y: np.ndarray, pred: np.ndarray, patients: list[str], *, flag_threshold: float
) -> PatientMetrics:
    """Per-patient accuracy averaged over patients (all, by class), the patient-level flag as
    sensitivity/specificity over patients, and the all-blast / all-normal baselines."""
    groups = _patient_groups(patients)
    truth = {k: int(round(y[idx].mean())) for k, idx in groups.items()}
    accuracy = {k: float((pred[idx] == y[idx]).mean()) for k, idx in groups.items()}
    flagged = {k: float(pred[idx].mean()) > flag_threshold for k, idx in groups.items()}
    sick = [k for k in groups if truth[k] == 1]
    healthy = [k for k in groups if truth[k] == 0]
    macro_all = _mean([accuracy[k] for k in sick])
    macro_hem = _mean([accuracy[k] for k in healthy])

    def baseline_macro(call: int) -> float:
        return _mean([float((y[idx] == call).mean()) for idx in groups.values()])

    return PatientMetrics(
        patients=len(groups),
        patients_all=len(sick),
        patients_hem=len(healthy),
        patient_macro_accuracy=_mean(list(accuracy.values())),
        patient_macro_accuracy_all=macro_all,
        patient_macro_accuracy_hem=macro_hem,
        patient_balanced_accuracy=float(np.nanmean([macro_all, macro_hem])),
        flag_threshold=float(flag_threshold),
        patient_flag_sensitivity=_mean([float(flagged[k]) for k in sick]),
        patient_flag_specificity=_mean([float(not flagged[k]) for k in healthy]),
        baseline_all_blast_weighted_f1=float(
            f1_score(y, np.ones_like(y), average="weighted", zero_division=0)
        ),
        baseline_all_normal_weighted_f1=float(
            f1_score(y, np.zeros_like(y), average="weighted", zero_division=0)
        ),
        baseline_all_blast_patient_macro=baseline_macro(1),
        baseline_all_normal_patient_macro=baseline_macro(0),
    )


def _patient_groups(patients: Sequence[str]) -> dict[str, np.ndarray]:
    index: dict[str, list[int]] = defaultdict(list)
    for i, patient in enumerate(patients):
        index[str(patient)].append(i)
    return {k: np.asarray(v) for k, v in sorted(index.items())}


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


# Figures that get patient-level bootstrap intervals (patients resampled with replacement, so an
# interval reflects how few patients there are, not how many cells).
INTERVAL_KEYS = ("weighted_f1", "roc_auc", "patient_macro_accuracy", "patient_macro_accuracy_hem")


def bootstrap_intervals(
    targets: Sequence[int] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    patients: Sequence[str],
    *,
    threshold: float,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, list[float]]:
    """Percentile intervals of INTERVAL_KEYS over `rounds` patient-level bootstrap resamples."""
    y = np.asarray(targets, dtype=int)
    p = np.asarray(probabilities, dtype=float)
    groups = list(_patient_groups(patients).values())
    if not groups:
        return {}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        chosen = rng.integers(0, len(groups), len(groups))
        idx = np.concatenate([groups[i] for i in chosen])
        # resampled patients keep distinct names, so a patient drawn twice counts twice
        names = np.concatenate([np.full(len(groups[i]), j) for j, i in enumerate(chosen)])
        m = compute_metrics(y[idx], p[idx], threshold=threshold, patients=[str(n) for n in names])
        for key in INTERVAL_KEYS:
            draws[key].append(getattr(m, key))
    tail = (1 - level) / 2 * 100
    return {
        key: [float(np.nanpercentile(v, tail)), float(np.nanpercentile(v, 100 - tail))]
        for key, v in draws.items()
        if not np.all(np.isnan(v))
    }


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")


def _per_patient(y: np.ndarray, pred: np.ndarray, patients: Sequence[str] | None) -> dict[str, Any]:
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


def reliability_bins(
    targets: np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> dict[str, list[float]]:
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
        loss.backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]
    return float(log_t.detach().exp().clamp(0.05, 20.0))


THRESHOLD_OBJECTIVES = ("weighted_f1", "sensitivity_floor", "logit0")


def choose_threshold(
    targets: Sequence[int] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    *,
    objective: str = "weighted_f1",
    sensitivity_floor: float = 0.95,
    grid: int = 2000,
) -> float:
    """The probability threshold for `objective`: `weighted_f1` maximises the challenge metric;
    `sensitivity_floor` keeps blast sensitivity >= the floor and maximises specificity under it;
    `logit0` is the paper's rule (0.5). Candidates are midpoints between neighbouring scores (a
    threshold on a score itself overfits); among equally good ones the nearest to 0.5 wins.
    0.5 when there is one class only."""
    if objective not in THRESHOLD_OBJECTIVES:
        raise ValueError(f"threshold objective must be one of {THRESHOLD_OBJECTIVES}")
    y, p = np.asarray(targets, int), np.asarray(probabilities, float)
    if objective == "logit0" or len(y) == 0 or len(set(y.tolist())) < 2:
        return 0.5
    scores = np.unique(p)
    if len(scores) > grid:
        scores = np.unique(np.quantile(p, np.linspace(0, 1, grid)))
    candidates = np.concatenate([[0.5], (scores[:-1] + scores[1:]) / 2])
    pred = p[None, :] >= candidates[:, None]
    tp = (pred & (y == 1)).sum(axis=1)
    fp = (pred & (y == 0)).sum(axis=1)
    fn = ((~pred) & (y == 1)).sum(axis=1)
    tn = ((~pred) & (y == 0)).sum(axis=1)
    if objective == "weighted_f1":
        f1_pos = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
        f1_neg = 2 * tn / np.maximum(2 * tn + fn + fp, 1)
        n_pos, n_neg = (y == 1).sum(), (y == 0).sum()
        score = (n_pos * f1_pos + n_neg * f1_neg) / len(y)
    else:
        sensitivity = tp / max((y == 1).sum(), 1)
        specificity = tn / max((y == 0).sum(), 1)
        # below the floor a threshold scores under every one that meets it
        score = np.where(sensitivity >= sensitivity_floor, specificity, sensitivity - 2.0)
    best = np.flatnonzero(score >= score.max() - 1e-12)
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])
