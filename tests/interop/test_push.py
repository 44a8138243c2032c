"""Pushing signed reports to a project's FHIR server: the sweep creates a push per new sign-off,
a worker POSTs the validated bundle, failures are retried with backoff, then shown on the case
where a lead can send again. Here the attempts run in-process; test_push_worker.py runs them
through a real Celery worker and Redis."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from fhir.resources.R4B.bundle import Bundle

from allreview.audit.models import AuditEvent
from allreview.interop import services, tasks
from allreview.interop.models import FhirPush, PushStatus
from allreview.review.services.signoff import case_sign_off
from tests.interop.fhir_server import fhir_server
from tests.interop.helpers import CALLS, label_as, login


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """Push ids the services queued (no broker here)."""
    queued: list[int] = []
    monkeypatch.setattr(tasks.fhir_push_send, "delay", queued.append)
    return queued


def _enable(project, admin, url: str, token: str = "") -> None:
    services.fhir_endpoint_set(
        project=project, user=admin, base_url=url, push_enabled=True, token=token
    )


def test_a_sign_off_is_pushed_as_a_valid_bundle(lab_a, admin_a, open_case, dora, sent, settings):
    with fhir_server([201]) as server:
        _enable(lab_a, admin_a, server.base_url, token="s3cret")
        label_as(open_case, dora, CALLS)
        case_sign_off(case=open_case, user=dora)
        assert services.fhir_pushes_schedule() == sent and len(sent) == 1
        outcome = services.fhir_push_attempt(push_id=sent[0])
        assert outcome.status == PushStatus.SENT and outcome.retry_in is None
        assert services.fhir_push_attempt(push_id=sent[0]) is None  # sent once, never twice
    (post,) = server.received
    assert post.path == "/fhir/Bundle"
    assert post.headers["Content-Type"].startswith("application/fhir+json")
    assert post.headers["Authorization"] == "Bearer s3cret"
    bundle = Bundle.model_validate_json(post.body)
    assert bundle.entry[0].resource.get_resource_type() == "DiagnosticReport"
    push = FhirPush.objects.get()
    assert push.status == PushStatus.SENT and push.attempts == 1
    assert push.response_location.endswith("/Bundle/1/_history/1")
    assert services.fhir_pushes_schedule() == []  # nothing new


def test_a_failing_server_is_retried_with_backoff_then_shown_on_the_case(
    lab_a, admin_a, alice, open_case, dora, sent, settings
):
    settings.FHIR_PUSH_MAX_ATTEMPTS = 3
    settings.FHIR_PUSH_BACKOFF_SECONDS = 10
    with fhir_server([500]) as server:
        _enable(lab_a, admin_a, server.base_url)
        label_as(open_case, dora, CALLS)
        case_sign_off(case=open_case, user=dora)
        (push_id,) = services.fhir_pushes_schedule()
        first = services.fhir_push_attempt(push_id=push_id)
        assert (first.status, first.retry_in) == (PushStatus.RETRYING, 10)
        second = services.fhir_push_attempt(push_id=push_id)
        assert (second.status, second.retry_in) == (PushStatus.RETRYING, 20)
        last = services.fhir_push_attempt(push_id=push_id)
        assert (last.status, last.retry_in) == (PushStatus.FAILED, None)
    assert len(server.received) == 3
    push = FhirPush.objects.get()
    assert push.attempts == 3 and "HTTP 500" in push.last_error
    assert "store unavailable" in push.last_error
    page = login(dora).get(f"/cases/{open_case.pk}/").content.decode()
    assert 'id="fhir-push-status"' in page and "Failed" in page and "HTTP 500" in page
    assert "fhir-push-button" not in page  # a reviewer cannot send again
    lead_page = login(alice).get(f"/cases/{open_case.pk}/").content.decode()
    assert "fhir-push-button" in lead_page


def test_a_lead_sends_again_after_fixing_the_server(
    lab_a, admin_a, alice, open_case, dora, sent, settings, django_capture_on_commit_callbacks
):
    settings.FHIR_PUSH_MAX_ATTEMPTS = 1
    with fhir_server([503]) as broken:
        _enable(lab_a, admin_a, broken.base_url)
        label_as(open_case, dora, CALLS)
        case_sign_off(case=open_case, user=dora)
        (push_id,) = services.fhir_pushes_schedule()
        assert services.fhir_push_attempt(push_id=push_id).status == PushStatus.FAILED
    with fhir_server([201]) as fixed:
        _enable(lab_a, admin_a, fixed.base_url)
        response = login(dora).post(f"/cases/{open_case.pk}/fhir/push/")
        assert response.status_code == 403 and FhirPush.objects.get().status == PushStatus.FAILED
        with pytest.raises(PermissionDenied):
            services.fhir_push_request(case=open_case, user=dora)
        with django_capture_on_commit_callbacks(execute=True):
            response = login(alice).post(f"/cases/{open_case.pk}/fhir/push/")
        assert response.status_code == 302
        assert sent == [push_id, push_id]
        assert services.fhir_push_attempt(push_id=push_id).status == PushStatus.SENT
    assert len(fixed.received) == 1
    assert AuditEvent.objects.filter(action="case.fhir_push", case_id=open_case.pk).count() == 1


def test_no_answer_at_all_is_a_failure_with_a_reason(lab_a, admin_a, open_case, dora, sent):
    with fhir_server([201]) as server:
        url = server.base_url  # closed when the block ends: nothing listens there any more
    _enable(lab_a, admin_a, url)
    label_as(open_case, dora, CALLS)
    case_sign_off(case=open_case, user=dora)
    (push_id,) = services.fhir_pushes_schedule()
    assert services.fhir_push_attempt(push_id=push_id).status == PushStatus.RETRYING
    push = FhirPush.objects.get()
    assert push.response_status is None and "no answer" in push.last_error


def test_sign_offs_before_pushing_was_turned_on_are_not_sent(lab_a, admin_a, open_case, dora, sent):
    label_as(open_case, dora, CALLS)
    case_sign_off(case=open_case, user=dora)
    _enable(lab_a, admin_a, "http://127.0.0.1:9/fhir")
    assert services.fhir_pushes_schedule() == [] and not FhirPush.objects.exists()


def test_a_claim_whose_worker_died_is_sent_again(lab_a, admin_a, open_case, dora, sent):
    from datetime import timedelta

    from django.utils import timezone

    _enable(lab_a, admin_a, "http://127.0.0.1:9/fhir")
    label_as(open_case, dora, CALLS)
    case_sign_off(case=open_case, user=dora)
    (push_id,) = services.fhir_pushes_schedule()
    stale = timezone.now() - services.SENDING_LEASE - timedelta(minutes=1)
    FhirPush.objects.filter(pk=push_id).update(status=PushStatus.SENDING, claimed_at=stale)
    services.fhir_pushes_schedule()  # resets the lost claim; due after the grace
    later = timezone.now() - services.RESEND_GRACE - timedelta(seconds=1)
    FhirPush.objects.filter(pk=push_id).update(next_attempt_at=later)
    assert services.fhir_pushes_schedule() == [push_id]
    assert sent == [push_id, push_id]


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://fhir.lab.example/", "http"),
        ("https://user:pw@fhir.lab.example/fhir", "credentials"),
        ("https://fhir.lab.example/fhir?x=1", "query"),
        ("", "URL before"),
    ],
)
def test_bad_server_urls_are_refused_and_nothing_is_saved(lab_a, admin_a, url, message):
    with pytest.raises(ValidationError, match=message):
        services.fhir_endpoint_set(project=lab_a, user=admin_a, base_url=url, push_enabled=True)
    assert not AuditEvent.objects.filter(action="project.fhir_endpoint").exists()


def test_endpoint_page_saves_for_admins_and_never_shows_the_token(lab_a, admin_a, alice):
    url = f"/projects/{lab_a.pk}/fhir/"
    response = login(admin_a).post(
        url,
        {"base_url": "https://fhir.lab.example/fhir/", "token": "tok-123", "push_enabled": "on"},
    )
    assert response.status_code == 302
    page = login(admin_a).get(url).content.decode()
    assert "https://fhir.lab.example/fhir" in page and "tok-123" not in page
    event = AuditEvent.objects.get(action="project.fhir_endpoint")
    assert event.after == {
        "base_url": "https://fhir.lab.example/fhir",
        "push_enabled": True,
        "token_set": True,
    }
    assert "tok-123" not in str(event.before) + str(event.after)
    bad = login(admin_a).post(url, {"base_url": "ftp://x", "push_enabled": "on"})
    assert bad.status_code == 400 and "http" in bad.content.decode()
    assert login(alice).post(url, {"base_url": "https://evil.example"}).status_code == 403
    assert "fhir-endpoint-form" not in login(alice).get(url).content.decode()
