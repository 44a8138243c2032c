"""Models per project: one lab's promotion, gate or rollback never moves another lab's model,
and a lab sees only its own and the shared versions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import Client

from allreview.audit.models import AuditEvent
from allreview.cases.classification import NO_MODEL_NOTICE, case_classify, cases_classify_waiting
from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, CaseStatus, Prediction
from allreview.cases.services import case_upload
from allreview.mlmodels.models import Deployment, DeploymentKind
from allreview.mlmodels.selectors import model_version_production
from allreview.mlmodels.services import model_version_promote, model_version_register
from allreview.projects.models import Role
from allreview.training import gate as training_gate
from allreview.training import runs as training_runs
from allreview.training.models import RunStatus, TrainingPolicy
from tests.factories import (
    CellFactory,
    MembershipFactory,
    ModelVersionFactory,
    TrainingRunFactory,
    UserFactory,
)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_of_b(lab_b):
    user = UserFactory(username="bea")
    MembershipFactory(project=lab_b, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def two_labs(lab_a, lab_b):
    """Lab A runs its own private version; both labs could deploy the shared one."""
    shared = ModelVersionFactory(name="shared-base")
    a_own = ModelVersionFactory(name="a-private", project=lab_a)
    b_own = ModelVersionFactory(name="b-private", project=lab_b)
    model_version_promote(version=shared, reason="installation default")
    model_version_promote(version=a_own, project=lab_a, reason="lab A's model")
    return SimpleNamespace(shared=shared, a_own=a_own, b_own=b_own)


def test_promoting_in_b_leaves_as_model_and_cases_untouched(
    lab_a, lab_b, alice, admin_of_b, two_labs, monkeypatch, django_capture_on_commit_callbacks
):
    case_a = Case.objects.create(project=lab_a, patient_code="A-1", status=CaseStatus.IN_REVIEW)
    CellFactory.create_for_case(case_a, 2, model_version=two_labs.a_own)
    Case.objects.filter(pk=case_a.pk).update(status=CaseStatus.IN_REVIEW)
    reclassified: list[int] = []
    monkeypatch.setattr(
        "allreview.cases.tasks.case_reclassify.delay", lambda pk: reclassified.append(pk)
    )
    monkeypatch.setattr("allreview.cases.tasks.cases_classify_waiting.delay", lambda: None)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin_of_b).post(
            f"/projects/{lab_b.pk}/models/{two_labs.b_own.pk}/promote/", {"reason": "ours"}
        )
    assert response.status_code == 302
    assert model_version_production(project=lab_b) == two_labs.b_own
    assert model_version_production(project=lab_a) == two_labs.a_own
    case_a.refresh_from_db()
    assert case_a.model_version == two_labs.a_own and reclassified == []
    assert AuditEvent.objects.filter(action="model.promote").first().project == lab_b


def test_bs_admin_gets_404_on_as_private_version_in_pages_and_api(
    lab_a, lab_b, admin_of_b, two_labs
):
    client = client_for(admin_of_b)
    private = two_labs.a_own.pk
    base = f"/projects/{lab_b.pk}/models"
    assert client.get(f"{base}/{private}/").status_code == 404
    assert client.get(f"{base}/{private}/curves.png").status_code == 404
    assert client.get(f"{base}/compare/?a={two_labs.shared.pk}&b={private}").status_code == 404
    response = client.post(f"{base}/{private}/promote/", {"reason": "take theirs"})
    assert response.status_code == 404
    assert model_version_production(project=lab_b) == two_labs.shared
    assert client.get(f"/api/v1/models/{private}/").status_code == 404
    assert client.get(f"/api/v1/models/?project={lab_a.pk}").status_code == 404
    assert client.get(f"{base}/{two_labs.shared.pk}/").status_code == 200  # shared: readable


def test_registry_and_api_list_only_the_projects_own_and_the_shared_versions(
    lab_a, lab_b, alice, two_labs
):
    client = client_for(alice)
    page = client.get(f"/projects/{lab_a.pk}/models/").content.decode()
    assert "a-private" in page and "shared-base" in page and "b-private" not in page
    assert "lab A&#x27;s model" in page or "lab A's model" in page  # the promotion history
    listed = client.get("/api/v1/models/").json()["results"]
    assert {v["name"] for v in listed} == {"a-private", "shared-base"}
    in_a = client.get(f"/api/v1/models/?project={lab_a.pk}").json()["results"]
    status = {v["name"]: v["status"] for v in in_a}
    assert status == {"a-private": "production", "shared-base": "candidate"}


def test_outsider_sees_no_model_in_the_api(charlie, two_labs):
    assert client_for(charlie).get("/api/v1/models/").json()["results"] == []


def test_cases_are_classified_with_their_own_projects_model(
    lab_a, lab_b, alice, bob, cell_bytes, tiny_checkpoint, production_model
):
    own_a = model_version_register(checkpoint=tiny_checkpoint, name="a-own", project=lab_a)
    model_version_promote(version=own_a, project=lab_a, reason="r")
    cases = {}
    for project, user in ((lab_a, alice), (lab_b, bob)):
        cases[project.pk] = case_upload(
            project=project,
            user=user,
            patient_code="P-1",
            files=[IncomingFile("x.png", cell_bytes(1))],
        )
        case_classify(case_id=cases[project.pk].pk)
    assert Prediction.objects.get(cell__case=cases[lab_a.pk]).model_version == own_a
    assert Prediction.objects.get(cell__case=cases[lab_b.pk]).model_version == production_model


def test_cases_wait_for_a_model_per_project(lab_a, lab_b, alice, bob, monkeypatch):
    enqueued: list[int] = []
    monkeypatch.setattr(
        "allreview.cases.services.case_enqueue", lambda *, case_id: enqueued.append(case_id)
    )
    waiting = {
        p.pk: Case.objects.create(
            project=p, patient_code="W", status=CaseStatus.QUEUED, status_detail=NO_MODEL_NOTICE
        )
        for p in (lab_a, lab_b)
    }
    model_version_promote(version=ModelVersionFactory(name="a", project=lab_a), project=lab_a)
    assert cases_classify_waiting() == 1
    assert enqueued == [waiting[lab_a.pk].pk]  # lab B has no model yet: it keeps waiting
    assert Case.objects.get(pk=waiting[lab_b.pk].pk).status_detail == NO_MODEL_NOTICE


def test_the_gate_in_one_project_moves_only_that_projects_pointer(
    lab_a, lab_b, two_labs, monkeypatch, django_capture_on_commit_callbacks
):
    TrainingPolicy.objects.create(project=lab_b, profile="tiny", sensitivity_floor=0.5)
    run = TrainingRunFactory(
        project=lab_b, trigger="manual", profile="tiny", status=RunStatus.RUNNING
    )
    scores = {
        two_labs.b_own.pk: {"weighted_f1": 0.9, "sensitivity": 0.9, "specificity": 0.9},
        two_labs.shared.pk: {"weighted_f1": 0.5, "sensitivity": 0.5, "specificity": 0.5},
    }
    monkeypatch.setattr(
        training_gate,
        "model_version_score",
        lambda *, version, project: SimpleNamespace(metrics=scores[version.pk]),
    )
    reclassified: list[int] = []
    monkeypatch.setattr("allreview.cases.tasks.cases_reclassify_open.delay", reclassified.append)
    with django_capture_on_commit_callbacks(execute=True):
        training_gate.run_gate(run, two_labs.b_own, training_runs.policy_for(lab_b))
    assert model_version_production(project=lab_b) == two_labs.b_own
    assert model_version_production(project=lab_a) == two_labs.a_own
    deployment = Deployment.objects.filter(project=lab_b).get()
    assert deployment.kind == DeploymentKind.GATE and deployment.actor is None
    assert AuditEvent.objects.filter(action="model.promote", project=lab_b).exists()
    assert reclassified == [lab_b.pk]
    run.refresh_from_db()
    assert run.gate["figures"]["production"]["balanced_accuracy"] == 0.5


@pytest.mark.parametrize("reclassify", [True, False])
def test_a_rollback_reclassifies_open_cases_as_the_project_says(
    lab_a, two_labs, reclassify, monkeypatch, django_capture_on_commit_callbacks
):
    TrainingPolicy.objects.create(project=lab_a, profile="tiny", reclassify_open_cases=reclassify)
    admin = UserFactory(username="ada")
    MembershipFactory(project=lab_a, user=admin, role=Role.ADMIN)
    newer = ModelVersionFactory(name="a-newer", project=lab_a)
    model_version_promote(version=newer, project=lab_a, reason="r")
    reclassified: list[int] = []
    monkeypatch.setattr("allreview.cases.tasks.cases_reclassify_open.delay", reclassified.append)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(admin).post(
            f"/projects/{lab_a.pk}/models/{two_labs.a_own.pk}/promote/", {"reason": "back"}
        )
    assert Deployment.objects.filter(project=lab_a).first().kind == DeploymentKind.ROLLBACK
    assert reclassified == ([lab_a.pk] if reclassify else [])
