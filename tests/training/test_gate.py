from __future__ import annotations

import pytest

from allreview.training.gate import gate_decide

GOOD = {"weighted_f1": 0.91, "sensitivity": 0.95}


def decide(candidate, production=None, floor=0.9, tolerance=0.02):
    return gate_decide(
        candidate=candidate,
        production=production,
        sensitivity_floor=floor,
        sensitivity_tolerance=tolerance,
    )


def test_first_model_is_promoted_when_it_reaches_the_floor():
    assert decide(GOOD).promote


def test_candidate_as_good_as_production_is_promoted():
    assert decide(GOOD, production={"weighted_f1": 0.91, "sensitivity": 0.96}).promote


def test_lower_f1_than_production_is_held_with_the_reason():
    decision = decide(GOOD, production={"weighted_f1": 0.92, "sensitivity": 0.9})
    assert not decision.promote
    assert any("weighted F1 0.910 is below production's 0.920" in r for r in decision.reasons)


def test_sensitivity_below_the_floor_is_held():
    decision = decide({"weighted_f1": 0.99, "sensitivity": 0.85})
    assert not decision.promote and "below the floor" in decision.reasons[0]


def test_sensitivity_drop_beyond_tolerance_is_held_even_with_better_f1():
    decision = decide(
        {"weighted_f1": 0.95, "sensitivity": 0.92},
        production={"weighted_f1": 0.9, "sensitivity": 0.95},
    )
    assert not decision.promote
    assert "more than 0.020 below production's 0.950" in decision.reasons[0]


def test_sensitivity_drop_within_tolerance_passes():
    assert decide(
        {"weighted_f1": 0.95, "sensitivity": 0.94},
        production={"weighted_f1": 0.9, "sensitivity": 0.95},
    ).promote


def test_missing_score_is_held():
    decision = decide({"weighted_f1": None, "sensitivity": float("nan")})
    assert not decision.promote and "no score" in decision.reasons[0]


def test_a_run_seed_depends_on_the_images_and_labels_not_on_row_ids():
    from allreview.training.execution import run_seed
    from allreview.training.selectors import LabelledCell

    first = [
        LabelledCell(1, "cells/1/1/aa.png", "all", "P1"),
        LabelledCell(2, "cells/1/1/bb.png", "hem", "P2"),
    ]
    moved = [
        LabelledCell(9, "cells/4/7/bb.png", "hem", "P2"),
        LabelledCell(8, "cells/4/7/aa.png", "all", "P1"),
    ]
    relabelled = [LabelledCell(1, "cells/1/1/aa.png", "hem", "P1"), first[1]]
    assert run_seed(first) == run_seed(moved)
    assert run_seed(first) != run_seed(relabelled)


def test_a_production_model_that_calls_every_cell_a_blast_holds_nobody_back():
    # the case: sensitivity 1.0, specificity 0.1 (balanced accuracy 0.55)
    trivial = {"weighted_f1": 0.95, "sensitivity": 1.0, "specificity": 0.1}
    decision = decide({"weighted_f1": 0.8, "sensitivity": 0.92}, production=trivial)
    assert decision.promote, decision.reasons
    assert "no better than a trivial model: balanced accuracy 0.550" in decision.reasons[0]


def test_a_production_model_failing_healthy_patients_is_trivial_too():
    production = {
        "weighted_f1": 0.95,
        "sensitivity": 0.99,
        "specificity": 0.9,
        "balanced_accuracy": 0.9,
        "patient_macro_accuracy_hem": 0.4,
    }
    assert decide({"weighted_f1": 0.8, "sensitivity": 0.92}, production=production).promote


def test_a_trivial_production_still_leaves_the_sensitivity_floor():
    trivial = {"weighted_f1": 0.95, "sensitivity": 1.0, "specificity": 0.0}
    decision = decide({"weighted_f1": 0.99, "sensitivity": 0.85}, production=trivial)
    assert not decision.promote and "below the floor" in decision.reasons[0]


def test_a_candidate_worse_on_healthy_patients_than_production_is_held():
    production = {**GOOD, "specificity": 0.9, "patient_macro_accuracy_hem": 0.95}
    candidate = {**GOOD, "specificity": 0.9, "patient_macro_accuracy_hem": 0.9}
    decision = decide(candidate, production=production)
    assert not decision.promote
    assert (
        "healthy-patient accuracy 0.900 is more than 0.020 below production's 0.950"
        in (decision.reasons[0])
    )
    assert decide({**candidate, "patient_macro_accuracy_hem": 0.94}, production=production).promote


def test_balanced_accuracy_is_read_from_the_metrics_or_computed():
    from allreview.training.gate import balanced_accuracy, gate_figures

    assert balanced_accuracy({"balanced_accuracy": 0.7, "sensitivity": 1, "specificity": 1}) == 0.7
    assert balanced_accuracy({"sensitivity": 0.9, "specificity": 0.5}) == pytest.approx(0.7)
    assert balanced_accuracy({"sensitivity": 0.9}) is None
    figures = gate_figures({"sensitivity": 0.9, "specificity": 0.5}, None)
    assert figures["candidate"]["balanced_accuracy"] == pytest.approx(0.7)
    assert figures["production"] is None
