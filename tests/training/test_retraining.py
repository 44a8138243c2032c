"""Retraining from reviewed labels: the run, the frozen set, the gate, the lock, the skip."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from allreview.audit.models import AuditEvent
from allreview.cases.classification import case_classify
from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, Prediction
from allreview.cases.services import case_upload
from allreview.mlmodels.selectors import model_version_production
from allreview.review.services.labels import label_set
from allreview.training import evaluation as training_evaluation
from allreview.training import execution as training_execution
from allreview.training import runs as training_runs
from allreview.training import selectors as training_selectors
from allreview.training.models import (
    EvaluationPatient,
    ModelScore,
    RunStatus,
    RunTrigger,
    TrainingPolicy,
    TrainingRun,
)
from allreview.training.runs import RunRefused, training_run_request
from tests.factories import TrainingRunFactory


def test_beat_task_trains_scores_and_promotes_a_new_version_the_worker_then_uses(
    reviewed_project,
    weak_production,
    run_inline,
    alice,
    cell_bytes,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        runs = training_runs.training_runs_schedule()
    run = TrainingRun.objects.get(pk=runs[0].pk)
    assert run.status == RunStatus.SUCCEEDED, run.reason + run.log
    assert run.trigger == RunTrigger.SCHEDULE
    frozen = set(EvaluationPatient.objects.values_list("patient_code", flat=True))
    assert frozen and {"A", "H"} == {code[0] for code in frozen}  # one patient of each class
    trained_patients = set(run.data_snapshot["per_patient"])
    assert not trained_patients & frozen  # never trained on the frozen set
    assert run.data_snapshot["count"] == 8 * (6 - len(frozen))
    assert run.history and run.epoch == run.epochs == 1
    candidate = run.candidate
    assert ModelScore.objects.filter(model_version=candidate, project=reviewed_project).exists()
    assert ModelScore.objects.filter(model_version=weak_production).exists()  # compared fairly
    assert run.gate["promote"] is True
    assert model_version_production(project=reviewed_project) == candidate
    assert AuditEvent.objects.filter(action="training.gate").exists()

    case = case_upload(
        project=reviewed_project,
        user=alice,
        patient_code="NEW-1",
        files=[IncomingFile("x.png", cell_bytes(999))],
    )
    case_classify(case_id=case.pk)
    assert Prediction.objects.get(cell__case=case).model_version == candidate


def test_candidate_that_fails_the_gate_stays_a_candidate_with_the_reason(
    reviewed_project, production_model, run_inline, django_capture_on_commit_callbacks
):
    TrainingPolicy.objects.filter(project=reviewed_project).update(sensitivity_floor=1.01)
    with django_capture_on_commit_callbacks(execute=True):
        run = training_run_request(project=reviewed_project, trigger=RunTrigger.MANUAL)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.candidate.project == reviewed_project  # the project's own, not shared
    assert not run.candidate.deployments.exists()
    assert model_version_production(project=reviewed_project) == production_model
    assert run.gate["promote"] is False
    assert "below the floor 1.010" in run.reason


def test_only_one_run_at_a_time_per_project(reviewed_project):
    first = training_run_request(project=reviewed_project, trigger=RunTrigger.MANUAL)
    assert first.status == RunStatus.QUEUED
    with pytest.raises(RunRefused, match="already queued or running"):
        training_run_request(project=reviewed_project, trigger=RunTrigger.MANUAL)


def test_the_database_lock_holds_even_when_the_check_is_raced(reviewed_project, monkeypatch):
    from django.db import IntegrityError, transaction

    TrainingRunFactory(project=reviewed_project, trigger="manual", profile="tiny")
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingRunFactory(project=reviewed_project, trigger="manual", profile="tiny")


def test_a_run_with_nothing_new_is_skipped_and_says_why(
    reviewed_project, production_model, run_inline, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = training_run_request(project=reviewed_project, trigger=RunTrigger.MANUAL)
    second = training_run_request(project=reviewed_project, trigger=RunTrigger.SCHEDULE)
    assert second.status == RunStatus.SKIPPED
    assert f"Nothing new since run #{first.pk}" in second.reason


def test_a_project_without_reviewed_cells_is_skipped(lab_a):
    run = training_run_request(project=lab_a, trigger=RunTrigger.SCHEDULE)
    assert run.status == RunStatus.SKIPPED and "No training data" in run.reason


def test_new_labels_trigger_waits_for_enough_labels(
    reviewed_project, production_model, run_inline, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert len(training_runs.training_runs_on_new_labels()) == 1  # 32 new labels >= 5
    assert training_runs.training_runs_on_new_labels() == []  # nothing new since


def test_a_killed_worker_leaves_the_run_resumable_from_its_last_epoch(
    reviewed_project, production_model, run_inline, settings
):
    from classifier.splits import patient_split
    from classifier.train import TrainConfig
    from classifier.train import main as train_main

    # A run that died after its first epoch: a last-epoch checkpoint, a stale heartbeat.
    TrainingPolicy.objects.filter(project=reviewed_project).update(epochs=2)
    run = training_run_request(project=reviewed_project, trigger=RunTrigger.MANUAL)
    samples = training_execution._samples(
        training_selectors.training_cells(project=reviewed_project),
        training_runs.policy_for(reviewed_project),
    )
    cells = training_selectors.training_cells(project=reviewed_project)
    seed = training_execution.run_seed(cells)
    train, val = patient_split(samples, val_fraction=0.2, seed=seed)
    train_main(
        TrainConfig(
            profile="tiny",
            train=train,
            val=val,
            output=training_execution.run_directory(run),
            epochs=1,
            seed=seed,
            device="cpu",
        )
    )
    stale = timezone.now() - timedelta(seconds=settings.TRAINING_HEARTBEAT_TIMEOUT + 60)
    TrainingRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, heartbeat_at=stale, attempts=1, epoch=1, epochs=2
    )

    assert training_runs.training_runs_reap() == 1  # re-queued, then executed inline
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.reason + run.log
    assert "resuming tiny" in run.log
    assert [h["epoch"] for h in run.history] == [2]  # only the missing epoch was trained
    assert run.attempts == 2


def test_a_run_whose_worker_keeps_dying_fails_with_the_reason(reviewed_project, settings):
    run = training_run_request(project=reviewed_project, trigger=RunTrigger.MANUAL)
    stale = timezone.now() - timedelta(seconds=settings.TRAINING_HEARTBEAT_TIMEOUT + 60)
    TrainingRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        heartbeat_at=stale,
        attempts=settings.TRAINING_MAX_ATTEMPTS,
        epoch=3,
    )
    training_runs.training_runs_reap()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "stopped 3 times (last at epoch 3)" in run.reason


def test_adding_patients_to_the_frozen_set_is_audited(reviewed_project, alice):
    added = training_evaluation.evaluation_patients_add(
        project=reviewed_project, patient_codes=["A1", "H1"], user=alice
    )
    assert added == 2
    assert (
        training_evaluation.evaluation_patients_add(
            project=reviewed_project, patient_codes=["A1"], user=alice
        )
        == 0
    )
    event = AuditEvent.objects.get(action="evaluation_set.add")
    assert event.after == {"patients": ["A1", "H1"]} and event.actor == alice


def test_frozen_set_takes_patients_by_their_majority_class_and_leaves_two_to_train(
    lab_a, alice, cell_bytes
):
    from allreview.review.services.signoff import case_sign_off
    from tests.helpers import signed_off_case

    TrainingPolicy.objects.create(project=lab_a, profile="tiny", evaluation_share=0.5)
    for i, patient in enumerate(["M1", "M2", "M3", "M4"]):
        # every patient has some blasts; M1 and M2 mostly blasts, M3 and M4 mostly normal cells
        signed_off_case(
            project=lab_a,
            user=alice,
            patient=patient,
            label="all",
            n=3 if i < 2 else 1,
            seed=10 + i,
            cell_bytes=cell_bytes,
        )
    for i, patient in enumerate(["M3", "M4"]):
        case = Case.objects.get(patient_code=patient)
        Case.objects.filter(pk=case.pk).update(status="in_review")
        for j in range(3):
            extra = case_upload(
                project=lab_a,
                user=alice,
                patient_code=patient,
                files=[IncomingFile("x.png", cell_bytes(50 + 10 * i + j, label="hem"))],
            )
            label_set(cell=extra.cells.get(), user=alice, value="hem")
            Case.objects.filter(pk=extra.pk).update(status="in_review")
            case_sign_off(case=extra, user=alice)
        Case.objects.filter(pk=case.pk).update(status="signed_off")
    training_evaluation.evaluation_set_ensure(project=lab_a, share=0.5)
    assert not EvaluationPatient.objects.exists()  # two per class: none can be spared

    for i, patient in enumerate(["M5", "M6"]):
        signed_off_case(
            project=lab_a,
            user=alice,
            patient=patient,
            label="hem",
            n=2,
            seed=30 + i,
            cell_bytes=cell_bytes,
        )
    training_evaluation.evaluation_set_ensure(project=lab_a, share=0.5)
    frozen = set(EvaluationPatient.objects.values_list("patient_code", flat=True))
    # four mostly-normal patients: half frozen, two left to train; the blast side still too small
    assert frozen == {"M3", "M5"}


def test_a_run_with_a_single_patient_is_skipped_and_says_why(lab_a, alice, cell_bytes):
    from tests.helpers import signed_off_case

    signed_off_case(
        project=lab_a, user=alice, patient="ONE", label="hem", n=3, seed=1, cell_bytes=cell_bytes
    )
    run = training_run_request(project=lab_a, trigger=RunTrigger.MANUAL)
    assert run.status == RunStatus.SKIPPED
    assert "Too few patients to train: 1" in run.reason
