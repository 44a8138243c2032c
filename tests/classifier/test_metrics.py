from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from classifier.metrics import (
    best_threshold,
    compute_metrics,
    expected_calibration_error,
    fit_temperature,
)

Y = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
P = np.array([0.9, 0.8, 0.7, 0.55, 0.4, 0.2, 0.6, 0.3, 0.1, 0.05])


def test_metrics_equal_scikit_learn_on_fixed_vectors() -> None:
    m = compute_metrics(Y, P, patients=list("aaaaabbbbb"))
    pred = (P >= 0.5).astype(int)
    assert m.weighted_f1 == pytest.approx(f1_score(Y, pred, average="weighted"))
    assert m.precision == pytest.approx(precision_score(Y, pred, average="weighted"))
    assert m.recall == pytest.approx(recall_score(Y, pred, average="weighted"))
    assert m.roc_auc == pytest.approx(roc_auc_score(Y, P))
    assert m.confusion == [[3, 1], [2, 4]]
    assert m.sensitivity == pytest.approx(4 / 6)
    assert m.specificity == pytest.approx(3 / 4)
    assert m.per_patient_accuracy == {"a": 0.8, "b": pytest.approx(0.6)}


def test_threshold_moves_the_decisions() -> None:
    assert compute_metrics(Y, P, threshold=0.25).confusion == [[2, 2], [1, 5]]


def test_ece_by_hand() -> None:
    # two bins: [0.1, 0.1] with one positive (|0.5 - 0.1|), [0.9, 0.9] both positive (|1 - 0.9|)
    ece = expected_calibration_error(np.array([1, 0, 1, 1]), np.array([0.1, 0.1, 0.9, 0.9]))
    assert ece == pytest.approx(0.5 * 0.4 + 0.5 * 0.1)


def test_temperature_recovers_the_true_scale() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, 20000)
    targets = (rng.random(20000) < 1 / (1 + np.exp(-true_logits))).astype(int)
    assert fit_temperature(true_logits * 3.0, targets) == pytest.approx(3.0, rel=0.05)


def test_temperature_is_one_without_both_classes() -> None:
    assert fit_temperature(np.array([1.0, 2.0]), np.array([1, 1])) == 1.0


def test_best_threshold_maximises_blast_f1() -> None:
    t = best_threshold(Y, P)
    pred = t <= P
    best = max(f1_score(Y, c <= P) for c in np.linspace(0, 1, 201))
    assert f1_score(Y, pred) == pytest.approx(best)


def test_best_threshold_prefers_half_when_separation_is_perfect() -> None:
    assert best_threshold(np.array([0, 0, 1, 1]), np.array([0.01, 0.02, 0.98, 0.99])) == 0.5
    assert best_threshold(np.array([1, 1]), np.array([0.2, 0.3])) == 0.5
