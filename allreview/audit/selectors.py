from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from allreview.audit.models import AuditEvent


def audit_events(
    *, project_id: int, case_id: int | None = None, viewer: Any = None
) -> QuerySet[AuditEvent]:
    """A project's (or a case's) events, newest first. A viewer who reads a case blinded sees
    only their own events of it while it is open: the others' would show the other reads."""
    from allreview.cases.selectors import blinded_open_case_ids

    events = AuditEvent.objects.filter(project_id=project_id).select_related("actor")
    if case_id is not None:
        events = events.filter(case_id=case_id)
    if viewer is not None:
        hidden = Q(case_id__in=blinded_open_case_ids(user=viewer)) & ~Q(actor_id=viewer.pk)
        events = events.exclude(hidden)
    return events.order_by("-created_at", "-id")
