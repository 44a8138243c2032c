"""The audit trail of a project or a case, as a page and as CSV (adjudicators and admins)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from allreview.audit.models import AuditEvent
from allreview.cases.access import case_for
from allreview.lib.csvstream import csv_response
from allreview.projects.access import project_for
from allreview.projects.models import Project
from allreview.projects.permissions import Action
from allreview.review.selectors.reading import audit_events_as_seen

HEADER = ["time", "actor", "action", "case", "target_type", "target_id", "before", "after"]


def _allowed(request: HttpRequest, project_id: int) -> Project:
    return project_for(user=request.user, project_id=project_id, action=Action.ADJUDICATE)


def _rows(events: QuerySet[AuditEvent]) -> Iterator[list[Any]]:
    for e in events.iterator(chunk_size=2000):
        yield [
            e.created_at.isoformat(),
            e.actor.username if e.actor else "",
            e.action,
            e.case_id or "",
            e.target_type,
            e.target_id,
            json.dumps(e.before) if e.before is not None else "",
            json.dumps(e.after) if e.after is not None else "",
        ]


def _respond(
    request: HttpRequest, events: QuerySet[AuditEvent], title: str, filename: str
) -> HttpResponseBase:
    if request.GET.get("format") == "csv":
        return csv_response(filename, HEADER, _rows(events))
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "audit/events.html", {"page": page, "title": title})


@login_required
@require_GET
def project_audit(request: HttpRequest, project_id: int) -> HttpResponseBase:
    project = _allowed(request, project_id)
    events = audit_events_as_seen(user=request.user, project_id=project_id)
    return _respond(
        request, events, f"Audit trail of {project.name}", f"audit-project-{project_id}.csv"
    )


@login_required
@require_GET
def case_audit(request: HttpRequest, case_id: int) -> HttpResponseBase:
    case = case_for(user=request.user, case_id=case_id, action=Action.ADJUDICATE)
    events = audit_events_as_seen(user=request.user, project_id=case.project_id, case_id=case_id)
    return _respond(request, events, f"Audit trail of case #{case_id}", f"audit-case-{case_id}.csv")
