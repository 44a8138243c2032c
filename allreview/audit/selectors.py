from __future__ import annotations

from django.db.models import QuerySet

from allreview.audit.models import AuditEvent


def audit_events(*, project_id: int, case_id: int | None = None) -> QuerySet[AuditEvent]:
    """A project's (or a case's) events, newest first. What a given reader may see of them is
    review's rule (`review.selectors.reading.audit_events_as_seen`)."""
    events = AuditEvent.objects.filter(project_id=project_id).select_related("actor")
    if case_id is not None:
        events = events.filter(case_id=case_id)
    return events.order_by("-created_at", "-id")
