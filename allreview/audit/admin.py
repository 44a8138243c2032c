from __future__ import annotations

from django.contrib import admin

from allreview.audit.models import AuditEvent
from allreview.lib.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "actor", "project", "case", "target_type", "target_id"]
    list_filter = ["action"]
    date_hierarchy = "created_at"
