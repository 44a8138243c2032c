"""The labelling domain's own state: who reads a case, label requests (idempotency), sign-offs and
reopenings. Label rows themselves are `cases.Label`, written only by `review.services.labels`."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from allreview.lib.appendonly import AppendOnlyModel


class CaseReader(models.Model):
    """A reader assigned to a case; a case may have several. With two or more, each reader's
    newest label is a separate read and disagreements go to adjudication. A blinded reader sees
    only their own labels (and, if the project says so, not the model's call). Audited."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="readers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_reads"
    )
    blinded = models.BooleanField(default=False)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="case_reader_unique_user")
        ]

    def __str__(self) -> str:
        return f"case {self.case_id} read by {self.user_id}"


class SignOff(AppendOnlyModel):
    """A case's final state as signed: counts, the label of every cell, the model version."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="sign_offs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    model_version = models.ForeignKey(
        "mlmodels.ModelVersion", null=True, on_delete=models.PROTECT, related_name="+"
    )
    snapshot = models.JSONField()
    exception_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "-id"], name="signoff_case_newest")]

    def __str__(self) -> str:
        return f"sign-off {self.pk} of case {self.case_id}"


class SignedCell(AppendOnlyModel):
    """One cell as a sign-off recorded it: its final label, the model's call of the signed
    model version and each labeller's newest read. Exports, agreement and retraining read these
    rows, never the live labels, so nothing done after (or around) a sign-off changes the record."""

    sign_off = models.ForeignKey(SignOff, on_delete=models.PROTECT, related_name="cells")
    cell = models.ForeignKey("cases.Cell", on_delete=models.PROTECT, related_name="signed")
    label = models.CharField(max_length=8, blank=True)  # "" when unreviewed or left disputed
    model_label = models.CharField(max_length=8, blank=True)
    reads = models.JSONField(default=dict)  # {username: value} of READ labels, cleared left out

    class Meta:
        ordering = ["sign_off_id", "cell_id"]
        constraints = [
            models.UniqueConstraint(fields=["sign_off", "cell"], name="signed_cell_unique")
        ]
        indexes = [models.Index(fields=["cell", "-sign_off"], name="signed_cell_newest")]

    def __str__(self) -> str:
        return f"cell {self.cell_id} as signed in sign-off {self.sign_off_id}"


class CaseReopening(AppendOnlyModel):
    """A lead reopened a signed-off case; the sign-off it undid stays as it was."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="reopenings")
    sign_off = models.ForeignKey(SignOff, on_delete=models.PROTECT, related_name="reopenings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"reopening of case {self.case_id}"


class LabelRequest(models.Model):
    """A client's request id for one label write (Idempotency-Key): a retried request finds its
    row and is answered with what was saved the first time, never written twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    request_id = models.CharField(max_length=64)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64)  # what was asked: a reused id must match it
    batch = models.CharField(max_length=32)
    changes = models.JSONField()  # [[cell, before, after], ...] as answered the first time
    labels = models.JSONField(default=list)  # ids of the Label rows written
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "cases_labelrequest"  # moved from cases (state only): the table stays
        constraints = [
            models.UniqueConstraint(fields=["user", "request_id"], name="label_request_unique")
        ]

    def __str__(self) -> str:
        return f"label request {self.request_id} of {self.user_id}"
