"""Retraining's smaller promises: idempotent candidates, audited skips, the frozen set's
threshold said aloud, sensible compare and drift defaults, and checked checkpoints."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from allreview.audit.models import AuditEvent
from allreview.cases.models import Case, CaseStatus
from allreview.mlmodels.models import ModelVersion
from allreview.mlmodels.services import model_version_promote, model_version_register
from allreview.projects.models import Role
from allreview.training import evaluation as training_evaluation
from allreview.training import execution as training_execution
from allreview.training import runs as training_runs
from allreview.training.charts import drift_panels
from allreview.training.models import RunStatus, RunTrigger
from allreview.training.scoring import model_version_score
from allreview.training.selectors import compare_defaults
from tests.factories import MembershipFactory, ModelVersionFactory, TrainingRunFactory, UserFactory
from tests.helpers import signed_off_case


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_run_retried_after_registering_reuses_its_candidate_and_copies_no_second_file(
    lab_a, tiny_checkpoint
):
    run = TrainingRunFactory(project=lab_a, trigger="manual", profile="tiny")
    first = training_execution._candidate_register(run, tiny_checkpoint, 10)
    # the worker died before the gate; the retried attempt registers again
    again = training_execution._candidate_register(run, tiny_checkpoint, 10)
    assert again == first and first.project == lab_a
    assert ModelVersion.objects.count() == 1
    assert default_storage.listdir("models")[1] == [f"project{lab_a.pk}-run{run.pk}.pt"]


def test_a_skipped_retrain_now_is_audited_with_the_reason(lab_a, alice):
    run = training_runs.training_run_request(project=lab_a, trigger=RunTrigger.MANUAL, user=alice)
    assert run.status == RunStatus.SKIPPED
    event = AuditEvent.objects.get(action="training.skip")
    assert event.actor == alice and event.project == lab_a
    assert "No training data" in event.after["reason"]


def test_a_scheduled_skip_leaves_no_audit_noise(lab_a):
    training_runs.training_run_request(project=lab_a, trigger=RunTrigger.SCHEDULE)
    assert not AuditEvent.objects.filter(action="training.skip").exists()


def test_patients_needed_per_class_follows_the_share():
    assert training_evaluation.patients_needed_per_class(0.2) == 5
    assert training_evaluation.patients_needed_per_class(0.5) == 3
    assert training_evaluation.patients_needed_per_class(0.34) == 3


def test_runs_page_says_the_frozen_set_needs_five_patients_per_class(lab_a, alice, cell_bytes):
    for i, (patient, label) in enumerate([("A1", "all"), ("A2", "all"), ("H1", "hem")]):
        signed_off_case(
            project=lab_a,
            user=alice,
            patient=patient,
            label=label,
            n=1,
            seed=i,
            cell_bytes=cell_bytes,
        )
    page = client_for(alice).get(f"/projects/{lab_a.pk}/training/").content.decode()
    assert "once each class has\n  5 signed-off patients (now 2 leukemic, 1 healthy)" in page


def test_runs_page_is_quiet_once_the_frozen_set_exists(reviewed_project, alice):
    training_evaluation.evaluation_patients_add(
        project=reviewed_project, patient_codes=["A1"], user=alice
    )
    page = client_for(alice).get(f"/projects/{reviewed_project.pk}/training/").content.decode()
    assert "No frozen evaluation set yet" not in page


def test_compare_opens_with_production_against_the_newest_other_version(lab_a, alice):
    old, production, newest = (ModelVersionFactory(name=n, project=lab_a) for n in ("o", "p", "n"))
    model_version_promote(version=production, project=lab_a)
    assert compare_defaults(project=lab_a) == (production.pk, newest.pk)
    model_version_promote(version=newest, project=lab_a)
    assert compare_defaults(project=lab_a) == (newest.pk, production.pk)
    page = client_for(alice).get(f"/projects/{lab_a.pk}/models/compare/").content.decode()
    assert f'<option value="{newest.pk}" selected>' in page
    assert f'<option value="{production.pk}" selected>' in page


def test_drift_chart_spans_only_the_weeks_with_data():
    week = datetime(2026, 11, 2)
    rows = [
        {
            "model_version__name": "m",
            "week": week,
            "override_rate": 0.1,
            "blast_rate": 0.4,
            "mean_uncertainty": 0.1,
        }
    ]
    low, high = drift_panels(rows)[0].xlim
    assert week - timedelta(days=7) <= low < week < high <= week + timedelta(days=7)


def test_scoring_refuses_a_checkpoint_whose_file_changed(reviewed_project, alice, tiny_checkpoint):
    training_evaluation.evaluation_patients_add(
        project=reviewed_project, patient_codes=["A1", "H1"], user=alice
    )
    version = model_version_register(checkpoint=tiny_checkpoint, name="tampered")
    ModelVersion.objects.filter(pk=version.pk).update(sha256="0" * 64)
    version.refresh_from_db()
    with pytest.raises(RuntimeError, match="does not match"):
        model_version_score(version=version, project=reviewed_project)


def test_a_reclassified_case_gets_a_fresh_classified_at(
    lab_a, alice, cell_bytes, production_model, tiny_checkpoint
):
    from allreview.cases.classification import case_classify, case_reclassify
    from allreview.cases.ingest import IncomingFile
    from allreview.cases.services import case_upload

    case = case_upload(
        project=lab_a, user=alice, patient_code="R-1", files=[IncomingFile("a.png", cell_bytes(1))]
    )
    case_classify(case_id=case.pk)
    long_ago = timezone.now() - timedelta(days=30)
    Case.objects.filter(pk=case.pk).update(classified_at=long_ago, status=CaseStatus.IN_REVIEW)
    new = model_version_register(checkpoint=tiny_checkpoint, name="v-new", project=lab_a)
    model_version_promote(version=new, project=lab_a)
    case_reclassify(case_id=case.pk)
    case.refresh_from_db()
    assert case.model_version == new and case.classified_at > long_ago


def test_a_lead_may_see_shared_models_but_not_promote_them_without_the_admin_role(lab_a):
    lead = UserFactory(username="lea")
    MembershipFactory(project=lab_a, user=lead, role=Role.ADJUDICATOR)
    shared = ModelVersionFactory(name="shared")
    client = client_for(lead)
    assert client.get(f"/projects/{lab_a.pk}/models/{shared.pk}/").status_code == 200
    url = f"/projects/{lab_a.pk}/models/{shared.pk}/promote/"
    assert client.post(url, {"reason": "x"}).status_code == 403
