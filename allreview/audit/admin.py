"""The Django admin writes to the audit trail like every other path.

Records that are locked or append-only are read-only here (allreview.lib.admin.ReadOnlyAdmin);
settings an admin may still change by hand (memberships, gate thresholds, blinding, a model's
threshold) go through AuditedAdmin, which records who changed what from what, with the project.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from allreview.audit.models import AuditEvent
from allreview.audit.services import audit_record
from allreview.lib.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "actor", "project", "case", "target_type", "target_id"]
    list_filter = ["action"]
    date_hierarchy = "created_at"


def admin_state(obj: models.Model) -> dict[str, Any]:
    """The row's own columns as JSON (foreign keys by id), for an audit event's before/after."""
    state = {}
    for field in obj._meta.concrete_fields:
        if getattr(field, "auto_now", False):
            continue  # a save stamps it; it is not a change anyone made
        value = getattr(obj, field.attname)
        if isinstance(value, datetime.date | datetime.time | decimal.Decimal | uuid.UUID):
            value = str(value)
        elif isinstance(value, models.Model | bytes | memoryview) or hasattr(value, "name"):
            value = str(getattr(value, "name", value))  # files: the stored name
        state[field.attname] = value
    return state


def project_id_of(obj: models.Model) -> int | None:
    if obj._meta.label_lower == "projects.project":
        return int(obj.pk)
    project_id: int | None = getattr(obj, "project_id", None)
    return project_id


def case_id_of(obj: models.Model) -> int | None:
    """So that the case's own audit page shows what the admin did to it."""
    if obj._meta.label_lower == "cases.case":
        return int(obj.pk)
    case_id: int | None = getattr(obj, "case_id", None)
    return case_id


def admin_change_record(
    *, request: HttpRequest, obj: models.Model, before: dict[str, Any] | None, deleted: bool = False
) -> None:
    """One audit event for one admin add, change or delete; a save that changed nothing is not
    an event."""
    after = None if deleted else admin_state(obj)
    if before is not None and after is not None:
        changed = {k for k in after if before.get(k) != after[k]}
        if not changed:
            return
        before = {k: before.get(k) for k in sorted(changed)}
        after = {k: after[k] for k in sorted(changed)}
    verb = "delete" if deleted else ("add" if before is None else "change")
    audit_record(
        action=f"admin.{obj._meta.model_name}.{verb}",
        actor=request.user,
        project_id=project_id_of(obj),
        case_id=case_id_of(obj),
        target=obj,
        before=before,
        after=after,
    )


def _before(obj: models.Model) -> dict[str, Any] | None:
    if obj.pk is None:
        return None
    fresh = type(obj)._default_manager.filter(pk=obj.pk).first()
    return admin_state(fresh) if fresh is not None else None


class AuditedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves and deletes, and those of its inlines, are audited in the same
    transaction as the change itself."""

    @transaction.atomic
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = _before(obj) if change else None
        super().save_model(request, obj, form, change)
        admin_change_record(request=request, obj=obj, before=before)

    @transaction.atomic
    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before, pk = admin_state(obj), obj.pk
        super().delete_model(request, obj)
        obj.pk = pk  # the event names what was deleted
        admin_change_record(request=request, obj=obj, before=before, deleted=True)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    @transaction.atomic
    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        befores = {
            id(f.instance): _before(f.instance)
            for f in formset.forms
            if f.instance.pk is not None and f.has_changed()
        }
        deleted = [(admin_state(f.instance), f.instance) for f in formset.deleted_forms]
        super().save_formset(request, form, formset, change)
        for state, obj in deleted:
            obj.pk = obj.pk or state.get("id")
            admin_change_record(request=request, obj=obj, before=state, deleted=True)
        for obj in formset.new_objects:
            admin_change_record(request=request, obj=obj, before=None)
        for obj, _fields in formset.changed_objects:
            admin_change_record(request=request, obj=obj, before=befores.get(id(obj)))
