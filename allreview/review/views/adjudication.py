"""The adjudication queue (cells whose readers disagree), the adjudicator's call, and the
project's blinding settings. Adjudicators and admins only; non-members get 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from allreview.cases.access import cell_for
from allreview.cases.models import LabelValue
from allreview.lib.refusals import (
    REFUSALS,
    refusal_json,
    refusal_response,
    safe_next,
    wants_json,
)
from allreview.projects.access import project_and_role_for, project_for
from allreview.projects.models import Project
from allreview.projects.permissions import Action, role_allows
from allreview.review.errors import StaleView
from allreview.review.selectors.adjudication import adjudication_queue as queue_cells
from allreview.review.selectors.labels import cells_reads
from allreview.review.services import adjudication, readers

CELLS_PER_PAGE = 50


QUEUE_IS_FOR_LEADS = "the adjudication queue is for adjudicators and admins"


def _queue_context(request: HttpRequest, project: Project, role: str) -> dict[str, Any]:
    page = Paginator(queue_cells(project=project, user=request.user), CELLS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    reads = cells_reads(cell_ids=[c.pk for c in page.object_list])
    for cell in page.object_list:
        cell.reads = sorted(reads.get(cell.pk, {}).items())
    return {
        "project": project,
        "page": page,
        "values": LabelValue.choices,
        "can_manage": role_allows(role, Action.MANAGE),
    }


@login_required
@require_GET
def adjudication_queue(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_and_role_for(
        user=request.user, project_id=project_id, action=Action.ADJUDICATE, why=QUEUE_IS_FOR_LEADS
    )
    return render(request, "review/adjudication.html", _queue_context(request, project, role))


def _seen(raw: Any) -> int | None:
    """The newest label id the adjudicator's view showed; blank means it showed none."""
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationError("'seen' must be a label id") from exc


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the page the form came from, if it is one of ours."""
    return redirect(safe_next(request, "review:case_list"))


@login_required
@require_POST
def cell_adjudicate(request: HttpRequest, cell_id: int) -> HttpResponse:
    """Form fields `value` and `seen` (Accept: application/json gets JSON). 201 (JSON) or a
    redirect when recorded; 409 Conflict when the cell was labelled after the view the decision
    was made on."""
    cell = cell_for(user=request.user, cell_id=cell_id)
    try:
        label = adjudication.cell_adjudicate(
            cell=cell,
            user=request.user,
            value=request.POST.get("value", ""),
            seen=_seen(request.POST.get("seen")),
        )
    except StaleView as exc:
        if wants_json(request):
            return refusal_json(exc)
        messages.error(request, f"Not recorded: {exc}")
        return _queue_conflict(request, cell.case.project_id)
    except REFUSALS as exc:
        return refusal_response(request, exc, back=safe_next(request, "review:case_list"))
    if wants_json(request):
        return JsonResponse({"cell": cell.pk, "value": label.value, "label": label.pk}, status=201)
    messages.success(request, f"Cell #{cell.pk} adjudicated: {label.get_value_display()}.")
    return _back(request)


def _queue_conflict(request: HttpRequest, project_id: int) -> HttpResponse:
    """The queue as it is now, answered with 409 so the adjudicator decides again on it."""
    project, role = project_and_role_for(user=request.user, project_id=project_id)
    context = _queue_context(request, project, role)
    return render(request, "review/adjudication.html", context, status=409)


@login_required
@require_POST
def project_blinding(request: HttpRequest, project_id: int) -> HttpResponse:
    """Admins set whether later readers are blinded and whether blinding hides the model."""
    project = project_for(user=request.user, project_id=project_id, action=Action.MANAGE)
    readers.project_blinding_set(
        project=project,
        user=request.user,
        blind_second_reads=request.POST.get("blind_second_reads") == "on",
        blind_model_call=request.POST.get("blind_model_call") == "on",
    )
    messages.success(request, "Blinding settings saved.")
    return redirect(reverse("review:adjudication_queue", args=[project.pk]))
