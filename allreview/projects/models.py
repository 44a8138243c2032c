from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    UPLOADER = "uploader", "Uploader"
    REVIEWER = "reviewer", "Reviewer"
    ADJUDICATOR = "adjudicator", "Adjudicator (lead)"
    ADMIN = "admin", "Admin"


class Project(models.Model):
    """A lab or study: the tenancy boundary. Nobody sees a project they are not a member of."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    blind_second_reads = models.BooleanField(
        default=True,
        help_text="Readers assigned after the first are blinded: they see no other reader's labels.",
    )
    blind_model_call = models.BooleanField(
        default=False, help_text="Blinded readers do not see the model's call either."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"
