"""Writes of interop: a project's FHIR server setting, and pushing signed reports to it.

A push is one row per sign-off. Beat's sweep creates the rows for new sign-offs of projects
that push, and sends what is due; a worker claims a row with a conditional UPDATE, builds the
bundle from the sign-off's record, POSTs it, and records the outcome. A failure is retried with
exponential backoff up to FHIR_PUSH_MAX_ATTEMPTS, then shown as failed on the case, where a lead
can send it again. Logs carry push ids and HTTP statuses only, never a patient code."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.cases.models import Case, CaseStatus
from allreview.interop import fhir, tasks, transport
from allreview.interop.models import FhirEndpoint, FhirPush, PushStatus
from allreview.interop.selectors import signed_report
from allreview.lib.queueing import enqueue_on_commit, task_send
from allreview.lib.users import AnyUser, signed_in
from allreview.projects.access import require
from allreview.projects.models import Project
from allreview.projects.permissions import Action
from allreview.review.models import SignOff

logger = logging.getLogger(__name__)

# A claim older than this lost its worker (the POST itself times out long before).
SENDING_LEASE = timedelta(minutes=10)
# A pending or retrying push not claimed this long after it was due is sent again by the sweep.
RESEND_GRACE = timedelta(minutes=2)


def _clean_url(raw: str) -> str:
    url = raw.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError("the FHIR server URL must be an http:// or https:// address")
    if parts.username or parts.password:
        raise ValidationError("put credentials in the token field, not in the URL")
    if parts.query or parts.fragment:
        raise ValidationError("give the server's base URL, without a query or fragment")
    return url.rstrip("/")


@transaction.atomic
def fhir_endpoint_set(
    *,
    project: Project,
    user: AnyUser,
    base_url: str,
    push_enabled: bool,
    token: str = "",
    clear_token: bool = False,
) -> FhirEndpoint:
    """Admins set where the project's signed reports go. An empty `token` keeps the stored one
    (it is never shown again); `clear_token` removes it. Audited without the token."""
    require(user=user, project_id=project.pk, action=Action.MANAGE)
    url = _clean_url(base_url)
    if push_enabled and not url:
        raise ValidationError("give the FHIR server URL before turning pushing on")
    endpoint, _ = FhirEndpoint.objects.select_for_update().get_or_create(project=project)
    before = _endpoint_audit(endpoint)
    if push_enabled and not endpoint.push_enabled:
        endpoint.enabled_at = timezone.now()
    endpoint.base_url, endpoint.push_enabled = url, push_enabled
    endpoint.updated_by = signed_in(user)
    if clear_token:
        endpoint.bearer_token = ""
    elif token.strip():
        endpoint.bearer_token = token.strip()
    endpoint.save()
    audit_record(
        action="project.fhir_endpoint",
        actor=user,
        project_id=project.pk,
        target=project,
        before=before,
        after=_endpoint_audit(endpoint),
    )
    return endpoint


def _endpoint_audit(endpoint: FhirEndpoint) -> dict[str, object]:
    return {
        "base_url": endpoint.base_url,
        "push_enabled": endpoint.push_enabled,
        "token_set": bool(endpoint.bearer_token),
    }


# --- Pushing ---------------------------------------------------------------------------------


def backoff_seconds(attempts: int) -> int:
    """The wait before attempt `attempts + 1`: the base doubled per failure, capped."""
    delay: int = settings.FHIR_PUSH_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return min(delay, int(settings.FHIR_PUSH_BACKOFF_MAX_SECONDS))


@dataclass(frozen=True)
class PushOutcome:
    status: str
    retry_in: int | None  # seconds until the next attempt, when one is due


def fhir_push_attempt(*, push_id: int) -> PushOutcome | None:
    """One attempt at a push; None when there is nothing to do (sent, failed, being sent by
    another worker, or gone). The POST runs outside any transaction."""
    now = timezone.now()
    claimed = FhirPush.objects.filter(
        pk=push_id, status__in=[PushStatus.PENDING, PushStatus.RETRYING]
    ).update(status=PushStatus.SENDING, claimed_at=now, updated_at=now)
    if not claimed:
        return None
    push = FhirPush.objects.select_related("sign_off", "case").get(pk=push_id)
    endpoint = FhirEndpoint.objects.filter(project_id=push.case.project_id).first()
    if endpoint is None or not endpoint.base_url:
        return _record_failure(
            push, None, "the project has no FHIR server URL any more", final=True
        )
    report = signed_report(case=push.case, sign_off=push.sign_off)
    body = fhir.bundle_json(fhir.bundle_build(report)).encode()
    url = transport.bundle_url(endpoint.base_url)
    FhirPush.objects.filter(pk=push.pk).update(target_url=url)
    result = transport.bundle_post(
        url=url, body=body, token=endpoint.bearer_token, timeout=settings.FHIR_PUSH_TIMEOUT_SECONDS
    )
    if result.ok:
        FhirPush.objects.filter(pk=push.pk).update(
            status=PushStatus.SENT,
            sent_at=timezone.now(),
            response_status=result.status,
            response_location=result.location,
            last_error="",
            next_attempt_at=None,
            attempts=push.attempts + 1,
        )
        logger.info("FHIR push %s sent (HTTP %s)", push.pk, result.status)
        return PushOutcome(PushStatus.SENT, None)
    return _record_failure(push, result.status, result.error)


def _record_failure(
    push: FhirPush, status: int | None, error: str, *, final: bool = False
) -> PushOutcome:
    attempts = push.attempts + 1
    give_up = final or attempts >= settings.FHIR_PUSH_MAX_ATTEMPTS
    delay = None if give_up else backoff_seconds(attempts)
    FhirPush.objects.filter(pk=push.pk).update(
        status=PushStatus.FAILED if give_up else PushStatus.RETRYING,
        attempts=attempts,
        last_error=error[:2000],
        response_status=status,
        next_attempt_at=None if delay is None else timezone.now() + timedelta(seconds=delay),
        updated_at=timezone.now(),
    )
    logger.warning(
        "FHIR push %s attempt %s failed (HTTP %s)%s",
        push.pk,
        attempts,
        status if status is not None else "none",
        "; giving up" if give_up else f"; retry in {delay}s",
    )
    return PushOutcome(PushStatus.FAILED if give_up else PushStatus.RETRYING, delay)


def fhir_pushes_schedule() -> list[int]:
    """Beat's sweep: a push row for every sign-off of a pushing project signed since pushing was
    turned on, then (re)send what is due: new rows, retries whose message was lost, and claims
    whose worker died. Returns the ids sent."""
    now = timezone.now()
    _pushes_create(now)
    FhirPush.objects.filter(status=PushStatus.SENDING, claimed_at__lt=now - SENDING_LEASE).update(
        status=PushStatus.RETRYING, next_attempt_at=now, updated_at=now
    )
    due = FhirPush.objects.filter(
        Q(status=PushStatus.PENDING, next_attempt_at__lte=now)
        | Q(status=PushStatus.RETRYING, next_attempt_at__lte=now - RESEND_GRACE)
    )
    ids = list(due.order_by("id").values_list("id", flat=True)[:500])
    # Not sent again by the next sweep unless still unclaimed after the grace.
    FhirPush.objects.filter(pk__in=ids).update(next_attempt_at=now + RESEND_GRACE)
    for push_id in ids:
        task_send(tasks.fhir_push_send, push_id)
    return ids


def _pushes_create(now: datetime) -> None:
    endpoints = FhirEndpoint.objects.filter(push_enabled=True).exclude(base_url="")
    for endpoint in endpoints:
        new = (
            SignOff.objects.filter(
                case__project_id=endpoint.project_id, created_at__gte=endpoint.enabled_at
            )
            .filter(~Exists(FhirPush.objects.filter(sign_off_id=OuterRef("pk"))))
            .order_by("id")
        )
        FhirPush.objects.bulk_create(
            [
                FhirPush(
                    sign_off=sign_off,
                    case_id=sign_off.case_id,
                    target_url=transport.bundle_url(endpoint.base_url),
                    next_attempt_at=now,
                )
                for sign_off in new
            ],
            ignore_conflicts=True,
        )


@transaction.atomic
def fhir_push_request(*, case: Case, user: AnyUser) -> FhirPush:
    """A lead sends the case's signed report (again): after a failure, after fixing the server
    setting, or for a case signed before pushing was turned on. Audited."""
    require(user=user, project_id=case.project_id, action=Action.ADJUDICATE)
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status != CaseStatus.SIGNED_OFF:
        raise ValidationError("only a signed-off case has a report to send")
    endpoint = FhirEndpoint.objects.filter(project_id=case.project_id).first()
    if endpoint is None or not endpoint.base_url:
        raise ValidationError("the project has no FHIR server; an admin sets it on its FHIR page")
    sign_off = SignOff.objects.filter(case=case).order_by("-id").first()
    if sign_off is None:
        raise ValidationError("the case has no sign-off")
    push, created = FhirPush.objects.select_for_update().get_or_create(
        sign_off=sign_off,
        defaults={"case": case, "target_url": transport.bundle_url(endpoint.base_url)},
    )
    if not created and push.status in {PushStatus.PENDING, PushStatus.SENDING}:
        raise ValidationError("the report is already on its way")
    before = {"status": push.status, "attempts": push.attempts} if not created else None
    now = timezone.now()
    FhirPush.objects.filter(pk=push.pk).update(
        status=PushStatus.PENDING, attempts=0, next_attempt_at=now + RESEND_GRACE, updated_at=now
    )
    audit_record(
        action="case.fhir_push",
        actor=user,
        project_id=case.project_id,
        case_id=case.pk,
        target=push,
        before=before,
        after={"status": PushStatus.PENDING, "sign_off": sign_off.pk},
    )
    enqueue_on_commit(tasks.fhir_push_send, push.pk)
    push.refresh_from_db()
    return push
