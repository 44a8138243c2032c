"""Upload and retry pages. The worklist, case page, cells and sign-off have their own modules."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from allreview.cases import selectors, services
from allreview.cases.access import case_for
from allreview.cases.forms import CaseUploadForm
from allreview.cases.ingest import IncomingFile, UploadRejected, early_checks_install
from allreview.cases.models import Case
from allreview.lib.refusals import REFUSALS, refusal_page
from allreview.projects.models import Project
from allreview.projects.permissions import Action
from allreview.projects.selectors import project_ids_for

CASES_PER_PAGE = 50


# The CSRF check reads the form's token from the body; exempt here and checked just below, so
# that the upload handlers can still be chosen before the body is read (Django's documented way).
@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def case_upload(request: HttpRequest) -> HttpResponse:
    projects = Project.objects.filter(
        pk__in=project_ids_for(user=request.user, action=Action.UPLOAD)
    )
    if request.method == "POST":
        _early_checks(request, projects)
    return _case_upload(request, projects)


@csrf_protect
def _case_upload(request: HttpRequest, projects: QuerySet[Project]) -> HttpResponse:
    form = CaseUploadForm(request.POST or None, request.FILES or None, projects=projects)
    problems: list[Any] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        files = [IncomingFile.from_upload(f) for f in data["files"]]
        try:
            case = services.case_upload(
                project=data["project"],
                user=request.user,
                patient_code=data["patient_code"],
                specimen_id=data["specimen_id"],
                files=files,
            )
        except UploadRejected as exc:
            problems = exc.problems
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            _upload_messages(request, case)
            return redirect("review:case_detail", case_id=case.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "problems": problems}
    return render(request, "cases/case_upload.html", context, status=status)


def _early_checks(request: HttpRequest, projects: QuerySet[Project]) -> None:
    """The page's script names the chosen project in ?project=: when the user may upload
    there, each file is checked as it arrives (the form's project still decides, and must be
    the same one)."""
    hint = request.GET.get("project", "")
    project = projects.filter(pk=int(hint)).first() if hint.isdigit() else None
    if project is not None:
        early_checks_install(request, geometry=selectors.model_input_geometry(project=project))


def _upload_messages(request: HttpRequest, case: Case) -> None:
    case.refresh_from_db(fields=["enqueued_at"])  # the on-commit send has run by now
    if case.enqueued_at is None:
        messages.warning(
            request,
            f"Uploaded {case.progress_total} cells. {services.QUEUE_UNREACHABLE_NOTICE}",
        )
    else:
        messages.success(
            request, f"Uploaded {case.progress_total} cells; classification is queued."
        )
    for warning in selectors.case_upload_warnings(case=case):
        messages.warning(request, warning)


@login_required
@require_POST
def case_retry(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_for(user=request.user, case_id=case_id)
    try:
        services.case_retry(case=case, user=request.user)
    except REFUSALS as exc:
        return refusal_page(request, exc, back=reverse("review:case_detail", args=[case.pk]))
    messages.success(request, "Classification queued again.")
    return redirect("review:case_detail", case_id=case.pk)
