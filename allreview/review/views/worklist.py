"""The worklist (cases I read and the unassigned ones in my projects) and the readers of a case."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from allreview.cases.access import case_for
from allreview.cases.models import CaseStatus
from allreview.lib.refusals import REFUSALS, refusal_page, safe_next
from allreview.projects.access import member_for
from allreview.projects.models import Project
from allreview.projects.permissions import Action
from allreview.projects.selectors import project_ids_for
from allreview.review.selectors import worklist
from allreview.review.services import readers

CASES_PER_PAGE = 50
COLUMNS = [
    ("patient", "Patient"),
    ("uploaded", "Uploaded"),
    ("status", "Status"),
    ("cells", "Cells"),
    ("blast", "Predicted blasts"),
    ("reviewed", "Reviewed"),
]


def _params(request: HttpRequest) -> dict[str, str]:
    scope = request.GET.get("scope", "available")
    sort = request.GET.get("sort", "-uploaded")
    return {
        "scope": scope if scope in worklist.WORKLIST_SCOPES else "available",
        "status": request.GET.get("status", "")
        if request.GET.get("status") in CaseStatus.values
        else "",
        "query": request.GET.get("q", "").strip()[:64],
        "sort": sort if sort.lstrip("-") in worklist.WORKLIST_SORTS else "-uploaded",
    }


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    params = _params(request)
    cases = worklist.worklist_for_user(user=request.user, **params)
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    for case in page.object_list:
        case.blast_pct = worklist.percent(case.n_predicted_blasts, case.n_cells)
        case.reviewed_pct = worklist.percent(case.n_reviewed, case.n_cells)
    can_upload = Project.objects.filter(
        pk__in=project_ids_for(user=request.user, action=Action.UPLOAD)
    ).exists()
    query = request.GET.copy()
    query.pop("page", None)
    lead_projects = Project.objects.filter(
        pk__in=project_ids_for(user=request.user, action=Action.ADJUDICATE)
    )
    context = {
        "page": page,
        "can_upload": can_upload,
        "lead_projects": lead_projects,
        "params": params,
        "columns": COLUMNS,
        "scopes": worklist.WORKLIST_SCOPES,
        "statuses": CaseStatus.choices,
        "query_string": query.urlencode(),
    }
    return render(request, "review/case_list.html", context)


@login_required
@require_POST
def case_readers(request: HttpRequest, case_id: int) -> HttpResponse:
    """Add a reader (leads): `reader` (user id) and `blinded` (yes, no, or blank for the
    project's default)."""
    case = case_for(user=request.user, case_id=case_id)
    reader = member_for(project_id=case.project_id, user_id=request.POST.get("reader", ""))
    blinded = {"yes": True, "no": False}.get(request.POST.get("blinded", ""))
    try:
        added = readers.case_reader_add(
            case=case, user=request.user, reader=reader, blinded=blinded
        )
    except REFUSALS as exc:
        return refusal_page(request, exc, back=reverse("review:case_detail", args=[case.pk]))
    blind = " (blinded)" if added.blinded else ""
    messages.success(request, f"{reader.get_username()} now reads case #{case.pk}{blind}.")
    return redirect("review:case_detail", case_id=case.pk)


@login_required
@require_POST
def case_reader_remove(request: HttpRequest, case_id: int, user_id: int) -> HttpResponse:
    case = case_for(user=request.user, case_id=case_id)
    reader = member_for(project_id=case.project_id, user_id=user_id)
    try:
        readers.case_reader_remove(case=case, user=request.user, reader=reader)
    except REFUSALS as exc:
        return refusal_page(request, exc, back=reverse("review:case_detail", args=[case.pk]))
    messages.success(request, f"{reader.get_username()} no longer reads case #{case.pk}.")
    return redirect("review:case_detail", case_id=case.pk)


@login_required
@require_POST
def case_assign(request: HttpRequest, case_id: int) -> HttpResponse:
    """Take a case nobody reads (I become its reader) or give my read back; then back to `next`
    if it is a local URL of ours (never an open redirect), else the worklist."""
    case = case_for(user=request.user, case_id=case_id)
    assignee = request.user if request.POST.get("take") else None
    back = safe_next(request, "review:case_list")
    try:
        readers.case_assign(case=case, user=request.user, assignee=assignee)
    except REFUSALS as exc:
        return refusal_page(request, exc, back=back)
    messages.success(request, f"Case #{case.pk} {'taken' if assignee else 'given back'}.")
    return redirect(back)
