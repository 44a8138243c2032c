"""Projects with signed-off, labelled synthetic cases, ready to retrain on the tiny profile."""

from __future__ import annotations

import pytest

from allreview.training import execution as training_execution
from allreview.training.models import TrainingPolicy
from tests.helpers import signed_off_case


@pytest.fixture
def reviewed_project(lab_a, alice, cell_bytes):
    """Six signed-off patients (three leukemic, three healthy), eight reviewed cells each."""
    TrainingPolicy.objects.create(
        project=lab_a,
        profile="tiny",
        epochs=1,
        sensitivity_floor=0.0,
        sensitivity_tolerance=1.0,
        evaluation_share=0.34,
        min_new_labels=5,
    )
    for i, (patient, label) in enumerate(
        [("A1", "all"), ("A2", "all"), ("A3", "all"), ("H1", "hem"), ("H2", "hem"), ("H3", "hem")]
    ):
        signed_off_case(
            project=lab_a,
            user=alice,
            patient=patient,
            label=label,
            n=8,
            seed=i,
            cell_bytes=cell_bytes,
        )
    return lab_a


@pytest.fixture
def run_inline(monkeypatch):
    """Queued runs execute at once in this process (the end-to-end test covers the broker)."""
    monkeypatch.setattr(
        "allreview.training.tasks.training_run_execute.delay",
        lambda run_id: training_execution.training_run_execute(run_id=run_id),
    )
    monkeypatch.setattr(
        "allreview.training.tasks.evaluation_rescore.delay", lambda project_id: None
    )
    monkeypatch.setattr(
        "allreview.cases.tasks.cases_reclassify_open.delay", lambda project_id: None
    )


@pytest.fixture
def weak_production(production_model):
    """Production that calls every cell normal (threshold above 1): on the balanced frozen set
    its weighted F1 is the floor of any classifier's, so the promotion branch is deterministic."""
    from allreview.mlmodels.models import ModelVersion

    ModelVersion.objects.filter(pk=production_model.pk).update(threshold=1.01)
    production_model.refresh_from_db()
    return production_model
