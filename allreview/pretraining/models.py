"""A self-supervised pretraining run: a backbone learnt from a project's own unlabelled cells,
which retraining may start from (TrainingPolicy.init_from_pretrained)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PretrainStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ACTIVE_PRETRAIN_STATUSES = (PretrainStatus.QUEUED, PretrainStatus.RUNNING)


class PretrainRun(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    profile = models.CharField(max_length=32, help_text="the backbone's architecture and input")
    status = models.CharField(
        max_length=16, choices=PretrainStatus.choices, default=PretrainStatus.QUEUED
    )
    reason = models.TextField(blank=True, help_text="why it failed")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    n_cells = models.PositiveIntegerField(default=0)
    epoch = models.PositiveIntegerField(default=0)
    epochs = models.PositiveIntegerField(default=0)
    losses = models.JSONField(default=list, blank=True)
    checkpoint = models.CharField(max_length=500, blank=True, help_text="path on the workers")
    sha256 = models.CharField(max_length=64, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One pretraining at a time per project, held by the database like training's lock.
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(status__in=["queued", "running"]),
                name="pretrain_one_active_run_per_project",
            )
        ]

    def __str__(self) -> str:
        return f"Pretraining run {self.pk} ({self.status})"

    @property
    def progress_percent(self) -> int:
        return round(100 * self.epoch / self.epochs) if self.epochs else 0
