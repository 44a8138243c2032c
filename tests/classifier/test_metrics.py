from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from classifier.metrics import (
    bootstrap_intervals,
    choose_threshold,
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


def test_threshold_maximises_weighted_f1_not_the_blast_class_alone() -> None:
    t = choose_threshold(Y, P, objective="weighted_f1")
    best = max(f1_score(Y, c <= P, average="weighted") for c in np.linspace(0, 1, 201))
    assert f1_score(Y, t <= P, average="weighted") == pytest.approx(best)


def test_threshold_under_a_sensitivity_floor_keeps_the_floor_with_the_best_specificity() -> None:
    t = choose_threshold(Y, P, objective="sensitivity_floor", sensitivity_floor=0.9)
    pred = t <= P
    assert pred[Y == 1].mean() >= 0.9
    feasible = [c for c in np.linspace(0, 1, 401) if (c <= P)[Y == 1].mean() >= 0.9]
    assert (~pred)[Y == 0].mean() >= max((P[Y == 0] < c).mean() for c in feasible) - 1e-9


def test_threshold_logit0_is_the_papers_half() -> None:
    assert choose_threshold(Y, P, objective="logit0") == 0.5


def test_threshold_prefers_half_when_separation_is_perfect() -> None:
    assert choose_threshold(np.array([0, 0, 1, 1]), np.array([0.01, 0.02, 0.98, 0.99])) == 0.5
    assert choose_threshold(np.array([1, 1]), np.array([0.2, 0.3])) == 0.5


def test_unknown_threshold_objective_is_refused() -> None:
    with pytest.raises(ValueError, match="objective"):
        choose_threshold(Y, P, objective="blast_f1")


def test_patient_figures_weigh_each_patient_once() -> None:
    # a big blast patient called right, a big healthy patient called right, two small healthy
    # patients called blast: cell accuracy looks fine, healthy-patient accuracy does not
    y = np.array([1] * 100 + [0] * 100 + [0, 0] + [0])
    p = np.array([0.9] * 100 + [0.1] * 100 + [0.9, 0.9] + [0.9])
    patients = ["A"] * 100 + ["H1"] * 100 + ["H2", "H2"] + ["H3"]
    m = compute_metrics(y, p, threshold=0.5, patients=patients, flag_threshold=0.2)
    assert m.accuracy == pytest.approx(200 / 203)
    assert m.patients == 4 and m.patients_all == 1 and m.patients_hem == 3
    assert m.patient_macro_accuracy_hem == pytest.approx(1 / 3)
    assert m.patient_macro_accuracy_all == 1.0
    assert m.patient_macro_accuracy == pytest.approx(0.5)
    assert m.patient_flag_sensitivity == 1.0
    assert m.patient_flag_specificity == pytest.approx(1 / 3)
    assert m.baseline_all_blast_patient_macro == pytest.approx(0.25)
    assert m.baseline_all_normal_patient_macro == pytest.approx(0.75)
    assert m.baseline_all_blast_weighted_f1 == pytest.approx(
        f1_score(y, np.ones_like(y), average="weighted")
    )
    assert m.balanced_accuracy == pytest.approx((1.0 + 100 / 103) / 2)
    assert "patient_macro_accuracy_hem" in m.scalars()


def test_patient_bootstrap_interval_contains_the_estimate_and_widens_with_fewer_patients() -> None:
    rng = np.random.default_rng(1)
    patients = [f"P{i}" for i in range(20) for _ in range(10)]
    y = np.array([int(i < 10) for i in range(20) for _ in range(10)])
    # cells of one patient share a patient effect: the case the patient bootstrap is for
    effect = np.repeat(rng.normal(0.2, 0.25, 20), 10)
    p = np.clip(y * 0.6 + effect + rng.normal(0, 0.05, len(y)), 0, 1)
    m = compute_metrics(y, p, patients=patients)
    wide = bootstrap_intervals(y, p, patients, threshold=0.5, rounds=300)
    assert wide["weighted_f1"][0] <= m.weighted_f1 <= wide["weighted_f1"][1]
    assert wide["patient_macro_accuracy"][0] <= m.patient_macro_accuracy
    # the same cells as one patient each: many more independent units, a narrower interval
    narrow = bootstrap_intervals(y, p, [str(i) for i in range(len(y))], threshold=0.5, rounds=300)
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(narrow["weighted_f1"]) < width(wide["weighted_f1"])
