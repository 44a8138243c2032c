"""A project's FHIR server and the push of each sign-off's report to it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FhirEndpoint(models.Model):
    """Where a project's signed reports are POSTed (a FHIR R4 server's base URL). Set by the
    project's admins; the token is sent as a Bearer credential and never shown again."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="fhir_endpoint"
    )
    base_url = models.URLField(max_length=500, blank=True)
    bearer_token = models.CharField(max_length=500, blank=True)
    push_enabled = models.BooleanField(default=False)
    # Sign-offs from this moment on are pushed; earlier ones are not sent retroactively.
    enabled_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"FHIR endpoint of project {self.project_id}"

    @property
    def active(self) -> bool:
        return self.push_enabled and bool(self.base_url)


class PushStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Failed, will retry"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class FhirPush(models.Model):
    """The push of one sign-off's report. A worker claims it (pending/retrying -> sending) with
    a conditional UPDATE, so a redelivered task sends nothing twice; each failure is kept."""

    sign_off = models.OneToOneField(
        "review.SignOff", on_delete=models.PROTECT, related_name="fhir_push"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="fhir_pushes")
    status = models.CharField(
        max_length=12, choices=PushStatus.choices, default=PushStatus.PENDING, db_index=True
    )
    target_url = models.URLField(max_length=500)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_location = models.CharField(max_length=500, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"FHIR push of sign-off {self.sign_off_id} ({self.status})"
