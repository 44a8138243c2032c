"""Server-rendered pages: the case list, upload, the case page, relabelling and cell images."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from allreview.cases import selectors, services
from allreview.cases.ingest import IncomingFile, UploadRejected
from allreview.cases.models import Cell, LabelValue
from allreview.projects.models import Project
from allreview.projects.permissions import Action
from allreview.projects.selectors import project_ids_for
from allreview.review.forms import CaseUploadForm

CASES_PER_PAGE = 50


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    cases = selectors.case_list_for_user(user=request.user)
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    can_upload = Project.objects.filter(
        pk__in=project_ids_for(user=request.user, action=Action.UPLOAD)
    ).exists()
    return render(request, "review/case_list.html", {"page": page, "can_upload": can_upload})


@login_required
@require_http_methods(["GET", "POST"])
def case_upload(request: HttpRequest) -> HttpResponse:
    projects = Project.objects.filter(
        pk__in=project_ids_for(user=request.user, action=Action.UPLOAD)
    )
    form = CaseUploadForm(request.POST or None, request.FILES or None, projects=projects)
    problems: list[Any] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        files = [IncomingFile(f.name, f.read()) for f in data["files"]]
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
            messages.success(
                request, f"Uploaded {case.progress_total} cells; classification is queued."
            )
            return redirect("review:case_detail", case_id=case.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "problems": problems}
    return render(request, "review/case_upload.html", context, status=status)


@login_required
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get_for_user(user=request.user, case_id=case_id)
    if case is None:
        raise Http404("No such case")
    context = {
        "case": case,
        "cells": selectors.case_cells(case=case),
        "counts": selectors.case_counts(case=case),
        "label_choices": LabelValue.choices,
    }
    return render(request, "review/case_detail.html", context)


@login_required
@require_POST
def case_retry(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get_for_user(user=request.user, case_id=case_id)
    if case is None:
        raise Http404("No such case")
    try:
        services.case_retry(case=case, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Classification queued again.")
    return redirect("review:case_detail", case_id=case.pk)


@login_required
@require_POST
def cell_label(request: HttpRequest, cell_id: int) -> HttpResponse:
    """Form posts redirect back; fetch() calls (Accept: application/json) get JSON."""
    cell = selectors.cell_get_for_user(user=request.user, cell_id=cell_id)
    if cell is None:
        raise Http404("No such cell")
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        label = services.label_set(
            cell=cell, user=request.user, value=request.POST.get("value", "")
        )
    except (ValidationError, PermissionDenied) as exc:
        message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        code = 400 if isinstance(exc, ValidationError) else 403
        if wants_json:
            return JsonResponse({"detail": message}, status=code)
        messages.error(request, message)
    else:
        if wants_json:
            return JsonResponse({"cell": cell.pk, "value": label.value}, status=201)
    return redirect("review:case_detail", case_id=cell.case_id)


def _cell_file(request: HttpRequest, cell_id: int, field: str) -> FileResponse:
    cell = (
        Cell.objects.filter(pk=cell_id, case__project_id__in=project_ids_for(user=request.user))
        .values(field, "image_format")
        .first()
    )
    if cell is None:
        raise Http404("No such cell")
    name = cell[field]
    response = FileResponse(default_storage.open(name, "rb"))
    response["Content-Type"] = (
        "image/jpeg" if field == "thumbnail" else f"image/{cell['image_format'].lower()}"
    )
    # Patient images: the browser may keep them for this user only, never shared caches.
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@login_required
@require_GET
def cell_image(request: HttpRequest, cell_id: int) -> FileResponse:
    return _cell_file(request, cell_id, "image")


@login_required
@require_GET
def cell_thumbnail(request: HttpRequest, cell_id: int) -> FileResponse:
    return _cell_file(request, cell_id, "thumbnail")
