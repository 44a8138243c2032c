from __future__ import annotations

from django.conf import settings
from django.db import models

from allreview.lib.appendonly import AppendOnlyModel


class ModelStatus(models.TextChoices):
    """A version's standing in one project, derived from that project's deployments: there is
    no installation-wide status, since each project has its own production model."""

    CANDIDATE = "candidate", "Candidate"
    PRODUCTION = "production", "Production"
    RETIRED = "retired", "Retired"


class ModelVersion(models.Model):
    """A trained classifier checkpoint and what is known about it. It belongs to the project
    whose labels trained it, or (project empty) is a shared base model any project may deploy."""

    name = models.CharField(max_length=100, unique=True)
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="model_versions",
        help_text="empty: a shared base model (the starter, an imported C-NMC model)",
    )
    profile = models.CharField(max_length=32)
    architecture = models.CharField(max_length=64)
    checkpoint = models.FileField(upload_to="models/", max_length=300)
    sha256 = models.CharField(max_length=64)
    threshold = models.FloatField(default=0.5)
    initialisation = models.CharField(max_length=200, default="random")
    metrics = models.JSONField(default=dict, blank=True)
    training_summary = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.project_id is None


class DeploymentKind(models.TextChoices):
    PROMOTE = "promote", "Promotion"
    ROLLBACK = "rollback", "Rollback"
    GATE = "gate", "Promoted by the gate"


class Deployment(AppendOnlyModel):
    """One move of a project's production pointer: the project's production model is the version
    of its newest deployment. A deployment without a project is the installation default, used
    by projects that have not deployed a model of their own (only shared versions qualify)."""

    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deployments",
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="deployments"
    )
    kind = models.CharField(max_length=16, choices=DeploymentKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["project", "-id"], name="deployment_project_newest")]

    def __str__(self) -> str:
        where = f"project {self.project_id}" if self.project_id else "installation default"
        return f"{self.model_version_id} → {where} ({self.kind})"
