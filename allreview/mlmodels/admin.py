from __future__ import annotations

from typing import Any

from django.contrib import admin

from allreview.audit.admin import AuditedAdmin
from allreview.mlmodels.models import Deployment, ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(AuditedAdmin):  # the decision threshold changes calls: audited
    list_display = ["name", "project", "profile", "threshold", "initialisation", "created_at"]
    list_filter = ["profile", "project"]
    # Which project runs a version is decided by deployments (audited), not through this form.
    readonly_fields = [
        "project",
        "sha256",
        "checkpoint",
        "metrics",
        "training_summary",
    ]


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    """The promotion history, read-only: deployments are made by the promotion service."""

    list_display = ["created_at", "project", "model_version", "kind", "actor", "reason"]
    list_filter = ["kind", "project"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
