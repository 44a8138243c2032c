from __future__ import annotations

from django.contrib import admin

from allreview.audit.admin import AuditedAdmin
from allreview.mlmodels.models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(AuditedAdmin):  # the decision threshold changes calls: audited
    list_display = ["name", "profile", "status", "threshold", "initialisation", "created_at"]
    list_filter = ["status", "profile"]
    # Status changes go through the promotion service (audited), not through this form.
    readonly_fields = [
        "status",
        "sha256",
        "checkpoint",
        "metrics",
        "training_summary",
        "promoted_at",
    ]
