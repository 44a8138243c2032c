from __future__ import annotations

from django.db import models


class ModelStatus(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    PRODUCTION = "production", "Production"
    RETIRED = "retired", "Retired"


class ModelVersion(models.Model):
    """A trained classifier checkpoint and what is known about it. At most one is in production."""

    name = models.CharField(max_length=100, unique=True)
    profile = models.CharField(max_length=32)
    architecture = models.CharField(max_length=64)
    checkpoint = models.FileField(upload_to="models/", max_length=300)
    sha256 = models.CharField(max_length=64)
    threshold = models.FloatField(default=0.5)
    initialisation = models.CharField(max_length=200, default="random")
    metrics = models.JSONField(default=dict, blank=True)
    training_summary = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=ModelStatus.choices, default=ModelStatus.CANDIDATE, db_index=True
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="production"),
                name="modelversion_single_production",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"
