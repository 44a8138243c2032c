from __future__ import annotations

from django.conf import settings
from django.db import models


class TrainingPolicy(models.Model):
    """How a project retrains: profile, triggers and the promotion gate. Editable in the admin."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="training_policy"
    )
    profile = models.CharField(max_length=32, default="tiny")
    epochs = models.PositiveIntegerField(null=True, blank=True, help_text="empty: the profile's")
    init_checkpoint = models.CharField(
        max_length=500, blank=True, help_text="local ImageNet weights file on the training workers"
    )
    init_from_pretrained = models.BooleanField(
        default=False,
        help_text="start from the newest self-supervised backbone pretrained on this project's "
        "cells (training page), when one exists for the profile; else from init_checkpoint",
    )
    base_dataset = models.CharField(
        max_length=500,
        blank=True,
        help_text="optional C-NMC-layout folder on the training workers, added to reviewed cells",
    )
    min_new_labels = models.PositiveIntegerField(
        default=50, help_text="start a run when this many new final labels have come in"
    )
    sensitivity_floor = models.FloatField(
        default=0.9, help_text="a candidate's blast sensitivity on the frozen set must reach this"
    )
    sensitivity_tolerance = models.FloatField(
        default=0.02, help_text="and may be below production's by at most this much"
    )
    evaluation_share = models.FloatField(
        default=0.2, help_text="share of signed-off patients frozen for evaluation when none chosen"
    )
    reclassify_open_cases = models.BooleanField(
        default=True, help_text="predict cases not yet signed off again with a new production model"
    )

    def __str__(self) -> str:
        return f"Training policy of {self.project}"


class EvaluationPatient(models.Model):
    """A patient in the project's frozen evaluation set: never trained on, every version scored."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="evaluation_patients"
    )
    patient_code = models.CharField(max_length=64)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "patient_code"], name="evaluation_patient_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient_code} (frozen, {self.project})"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Retrain now"
    NEW_LABELS = "new_labels", "New final labels"


class TrainingRun(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices)
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    reason = models.TextField(blank=True, help_text="why it was skipped, failed or held")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    profile = models.CharField(max_length=32)
    epoch = models.PositiveIntegerField(default=0)
    epochs = models.PositiveIntegerField(default=0)
    history = models.JSONField(default=list, blank=True)
    log = models.TextField(blank=True)
    data_snapshot = models.JSONField(default=dict, blank=True)
    data_hash = models.CharField(max_length=64, blank=True)
    candidate = models.ForeignKey(
        "mlmodels.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    gate = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The lock: at most one queued or running run per project, held by the database, so
            # it outlives any worker; a dead worker's run is released by its stale heartbeat.
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(status__in=["queued", "running"]),
                name="training_one_active_run_per_project",
            )
        ]

    def __str__(self) -> str:
        return f"Training run {self.pk} ({self.status})"

    @property
    def progress_percent(self) -> int:
        return round(100 * self.epoch / self.epochs) if self.epochs else 0


class ModelScore(models.Model):
    """A model version's metrics on a project's frozen evaluation set (as it was: eval_hash)."""

    model_version = models.ForeignKey(
        "mlmodels.ModelVersion", on_delete=models.CASCADE, related_name="scores"
    )
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    eval_hash = models.CharField(max_length=64)
    n_cells = models.PositiveIntegerField()
    n_patients = models.PositiveIntegerField()
    metrics = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "project", "eval_hash"], name="model_score_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Score of {self.model_version_id} on {self.project_id} ({self.n_cells} cells)"
