"""A killed classification worker: its claim is a short lease renewed by a heartbeat, so a case it
left "classifying" is claimable again, swept and retryable within minutes, not after the hard
time limit."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from allreview.cases import classification
from allreview.cases.classification import (
    case_claim,
    case_claim_renew,
    case_classify,
    cases_classify_waiting,
    claim_heartbeat,
)
from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, CaseStatus, Prediction
from allreview.cases.services import case_upload


@pytest.fixture
def case(lab_a, alice, cell_bytes) -> Case:
    files = [IncomingFile(f"{i}.png", cell_bytes(i)) for i in range(3)]
    return case_upload(project=lab_a, user=alice, patient_code="P-1", files=files)


def _silent_for(case: Case, seconds: float) -> None:
    """As if the claim's last heartbeat was `seconds` ago (the worker died then)."""
    Case.objects.filter(pk=case.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))


def test_the_lease_is_minutes_not_the_hard_time_limit(settings):
    assert settings.CLASSIFY_CLAIM_LEASE_SECONDS <= 180
    assert settings.CLASSIFY_HEARTBEAT_SECONDS * 2 <= settings.CLASSIFY_CLAIM_LEASE_SECONDS
    assert settings.CLASSIFY_CLAIM_LEASE_SECONDS < settings.CELERY_TASK_TIME_LIMIT


def test_an_unrenewed_claim_lapses_and_the_redelivered_task_classifies_the_case(
    production_model, case, settings
):
    settings.CLASSIFY_CLAIM_LEASE_SECONDS = 60
    assert case_claim(case_id=case.pk, model_version=production_model) is not None
    assert case_claim(case_id=case.pk, model_version=production_model) is None  # live claim
    _silent_for(case, 59)
    assert case_claim(case_id=case.pk, model_version=production_model) is None  # still live
    _silent_for(case, 61)  # the worker was killed and never renewed
    case_classify(case_id=case.pk)  # the message delivered again (or sent by the sweep)
    case.refresh_from_db()
    assert case.status == CaseStatus.READY
    assert Prediction.objects.filter(cell__case=case).count() == 3


def test_a_renewed_claim_stays_and_a_taken_over_claim_cannot_be_renewed(
    production_model, case, settings
):
    settings.CLASSIFY_CLAIM_LEASE_SECONDS = 60
    first = case_claim(case_id=case.pk, model_version=production_model)
    _silent_for(case, 61)
    assert case_claim_renew(case_id=case.pk, claimed_at=first)  # a late beat saves it
    assert case_claim(case_id=case.pk, model_version=production_model) is None
    _silent_for(case, 61)
    second = case_claim(case_id=case.pk, model_version=production_model)
    assert second is not None and second != first
    assert not case_claim_renew(case_id=case.pk, claimed_at=first)


def test_the_finishing_update_is_only_for_the_current_claim(production_model, case, monkeypatch):
    """A worker taken over after its lease lapsed does not mark the case ready under the new one."""

    def taken_over(*, case_id, model_version):
        Case.objects.filter(pk=case_id).update(claimed_at=timezone.now() + timedelta(seconds=1))

    monkeypatch.setattr(classification, "_predict_missing", taken_over)
    case_classify(case_id=case.pk)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.CLASSIFYING


def test_the_sweep_queues_a_case_whose_lease_lapsed(production_model, case, settings, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(
        "allreview.cases.services.case_enqueue", lambda case_id: sent.append(case_id)
    )
    Case.objects.filter(pk=case.pk).update(enqueued_at=timezone.now())
    case_claim(case_id=case.pk, model_version=production_model)
    assert cases_classify_waiting() == 0
    _silent_for(case, settings.CLASSIFY_CLAIM_LEASE_SECONDS + 1)
    assert cases_classify_waiting() == 1
    assert sent == [case.pk]


def test_the_case_page_offers_retry_once_the_lease_lapsed(
    production_model, case, alice, settings, monkeypatch
):
    monkeypatch.setattr("celery.app.task.Task.delay", lambda self, *a, **k: None)
    client = Client()
    client.force_login(alice)
    case_claim(case_id=case.pk, model_version=production_model)
    assert 'id="claim-lapsed"' not in client.get(f"/cases/{case.pk}/").content.decode()
    # a refused form post answers a page saying why (never a redirect with a message)
    assert client.post(f"/cases/{case.pk}/retry/").status_code == 400
    assert Case.objects.get(pk=case.pk).status == CaseStatus.CLASSIFYING  # live: refused
    _silent_for(case, settings.CLASSIFY_CLAIM_LEASE_SECONDS + 1)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'id="claim-lapsed"' in page and "Retry classification" in page
    assert client.post(f"/cases/{case.pk}/retry/").status_code == 302
    assert Case.objects.get(pk=case.pk).status == CaseStatus.QUEUED


@pytest.mark.django_db(transaction=True)
def test_the_worker_heartbeat_renews_the_claim_while_it_classifies(
    production_model, case, settings
):
    settings.CLASSIFY_HEARTBEAT_SECONDS = 0.1
    claimed_at = case_claim(case_id=case.pk, model_version=production_model)
    with claim_heartbeat(case_id=case.pk, claimed_at=claimed_at):
        time.sleep(0.6)
    beat = Case.objects.get(pk=case.pk).heartbeat_at
    assert beat > claimed_at + timedelta(seconds=0.2)
    time.sleep(0.3)  # stopped with the work: no more beats
    assert Case.objects.get(pk=case.pk).heartbeat_at == beat
