"""Self-supervised pretraining from the training page: who may ask, the lock, a real run on real
C-NMC cells, and retraining that starts from the backbone when the policy says so."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from django.test import Client
from django.utils import timezone

from allreview.audit.models import AuditEvent
from allreview.cases.ingest import IncomingFile
from allreview.cases.services import case_upload
from allreview.pretraining import services, tasks
from allreview.pretraining.models import PretrainRun, PretrainStatus
from allreview.pretraining.selectors import pretrain_backbone_latest, pretrain_cell_images
from allreview.projects.models import Role
from allreview.training import execution
from allreview.training.models import TrainingPolicy
from tests.factories import MembershipFactory, TrainingRunFactory, UserFactory
from tests.paths import CNMC_DIR

ROLES = ["outsider", "uploader", "reviewer", "adjudicator", "admin"]


def real_cells(n: int) -> list[IncomingFile]:
    if not (CNMC_DIR / "labels.csv").is_file():
        pytest.skip(f"C-NMC data not found at {CNMC_DIR}")
    paths = sorted((CNMC_DIR / "images" / "all").glob("*.png"))[:n]
    return [IncomingFile(f"cell{i}.png", p.read_bytes()) for i, p in enumerate(paths)]


@pytest.fixture
def lab(lab_a, alice, settings):
    settings.PRETRAIN_MIN_CELLS = 8
    settings.PRETRAIN_EPOCHS = 1
    TrainingPolicy.objects.create(project=lab_a, profile="tiny", epochs=1)
    files = real_cells(12)
    case_upload(project=lab_a, user=alice, patient_code="P-1", files=files[:8])
    # the same image in a second case counts once; unlabelled cells count too
    case_upload(project=lab_a, user=alice, patient_code="P-2", files=files[6:])
    return lab_a


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(tasks.pretrain_run_execute, "delay", sent.append)
    return sent


def test_every_uploaded_cell_counts_once(lab):
    assert len(pretrain_cell_images(project=lab)) == 12


def test_too_few_cells_is_refused_with_the_count(lab, alice, settings, queued):
    settings.PRETRAIN_MIN_CELLS = 100
    with pytest.raises(services.PretrainRefused, match="12 uploaded, at least 100"):
        services.pretrain_run_request(project=lab, profile="tiny", user=alice)
    assert not PretrainRun.objects.exists() and queued == []


def test_one_at_a_time_and_a_dead_worker_releases_the_lock(
    lab, alice, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = services.pretrain_run_request(project=lab, profile="tiny", user=alice)
    assert queued == [run.pk] and run.n_cells == 12
    assert AuditEvent.objects.filter(action="pretraining.request").count() == 1
    with pytest.raises(services.PretrainRefused, match="already queued or running"):
        services.pretrain_run_request(project=lab, profile="tiny", user=alice)
    long_ago = timezone.now() - timezone.timedelta(days=1)
    PretrainRun.objects.filter(pk=run.pk).update(status="running", updated_at=long_ago)
    again = services.pretrain_run_request(project=lab, profile="tiny", user=alice)
    run.refresh_from_db()
    assert run.status == PretrainStatus.FAILED and "stopped reporting" in run.reason
    assert again.status == PretrainStatus.QUEUED
    # a run no worker ever took (its message was lost) does not hold the lock for ever either
    PretrainRun.objects.filter(pk=again.pk).update(created_at=long_ago)
    third = services.pretrain_run_request(project=lab, profile="tiny", user=alice)
    again.refresh_from_db()
    assert again.status == PretrainStatus.FAILED and "No worker took it" in again.reason
    assert third.status == PretrainStatus.QUEUED


def test_a_real_run_writes_a_backbone_that_retraining_starts_from(lab, alice, queued):
    run = services.pretrain_run_request(project=lab, profile="tiny", user=alice)
    services.pretrain_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == PretrainStatus.SUCCEEDED, run.reason
    assert run.epoch == 1 and len(run.losses) == 1 and run.losses[0] > 0
    checkpoint = torch.load(run.checkpoint, map_location="cpu", weights_only=False)
    assert checkpoint["init_kind"] == "ssl-simclr" and checkpoint["images"] == 12
    assert pretrain_backbone_latest(project=lab, profile="tiny") == run
    assert pretrain_backbone_latest(project=lab, profile="fast") is None
    # a second execution of the same task (a redelivery) does nothing
    services.pretrain_run_execute(run_id=run.pk)

    policy = TrainingPolicy.objects.get(project=lab)
    training = TrainingRunFactory(project=lab)
    assert execution._init_weights(training, policy) is None  # off by default
    policy.init_from_pretrained = True
    assert execution._init_weights(training, policy) == Path(run.checkpoint)
    training.refresh_from_db()
    assert f"pretrained backbone #{run.pk}" in training.log


def test_a_failing_run_says_why(lab, alice, queued, monkeypatch):
    run = services.pretrain_run_request(project=lab, profile="tiny", user=alice)
    monkeypatch.setattr(services, "pretrain_cell_images", lambda project: [])
    services.pretrain_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == PretrainStatus.FAILED and "two cell images" in run.reason


@pytest.mark.parametrize("who", ROLES)
def test_roles_on_the_two_routes(lab, who, queued, monkeypatch):
    user = UserFactory(username=f"u-{who}")
    if who != "outsider":
        MembershipFactory(project=lab, user=user, role=Role(who))
    client = Client()
    client.force_login(user)
    page = client.get(f"/projects/{lab.pk}/training/")
    response = client.post(f"/projects/{lab.pk}/training/pretrain/")
    if who == "outsider":
        assert (page.status_code, response.status_code) == (404, 404)
        assert not PretrainRun.objects.exists()
        return
    assert page.status_code == 200 and b"Self-supervised pretraining" in page.content
    if who != "admin":
        assert response.status_code == 403 and not PretrainRun.objects.exists()
        assert b"Pretrain on this project" not in page.content
        return
    assert response.status_code == 302 and PretrainRun.objects.count() == 1
    run = PretrainRun.objects.get()
    status = client.get(f"/projects/{lab.pk}/training/pretrain/{run.pk}/").json()
    assert status["status"] == "queued" and status["epochs"] == 1
    page = client.get(f"/projects/{lab.pk}/training/")
    assert f"Pretraining #{run.pk}".encode() in page.content


def test_status_of_another_projects_run_is_404(lab, lab_b, bob, alice, queued):
    run = services.pretrain_run_request(project=lab, profile="tiny", user=alice)
    client = Client()
    client.force_login(bob)
    assert client.get(f"/projects/{lab_b.pk}/training/pretrain/{run.pk}/").status_code == 404
