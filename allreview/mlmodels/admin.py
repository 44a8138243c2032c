from __future__ import annotations

from django.contrib import admin

from allreview.audit.admin import AuditedAdmin
from allreview.lib.admin import ReadOnlyAdmin
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
class DeploymentAdmin(ReadOnlyAdmin):
    """The promotion history, read-only: deployments are made by the promotion service."""

    list_display = ["created_at", "project", "model_version", "kind", "actor", "reason"]
    list_filter = ["kind", "project"]
