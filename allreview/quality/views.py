"""Reader QC pages: the reader-quality figures (leads: every reader; readers: their own), the
pool of reference cells (leads) and the settings (admins). Thin: one selector or service each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from allreview.lib.csvstream import csv_response
from allreview.lib.refusals import REFUSALS, refusal_page
from allreview.projects.access import project_and_role_for, project_for
from allreview.projects.permissions import Action, role_allows
from allreview.quality import charts, selectors, services
from allreview.quality.models import MAX_RATE, ReferenceCell
from allreview.quality.stats import ReaderFigures

CSV_HEADER = [
    "reader",
    "period",
    "n",
    "correct",
    "accuracy",
    "accuracy_low",
    "accuracy_high",
    "kappa",
    "kappa_low",
    "kappa_high",
    *(f"{a}_called_{c}" for a in ("blast", "normal") for c in ("blast", "normal", "unsure")),
    "below_floor",
]


def _csv_rows(figures: list[ReaderFigures]) -> Iterator[list[Any]]:
    for f in figures:
        yield [
            f.reader,
            f.period,
            f.n,
            f.accuracy.successes,
            f.accuracy.estimate,
            f.accuracy.low,
            f.accuracy.high,
            f.kappa.estimate,
            f.kappa.low,
            f.kappa.high,
            *(v for row in f.confusion for v in row),
            f.below_floor,
        ]


@login_required
@require_GET
def reader_quality(request: HttpRequest, project_id: int) -> HttpResponseBase:
    """Leads see every reader; a reader sees only their own figures (uploaders: 403)."""
    project, role = project_and_role_for(
        user=request.user, project_id=project_id, action=Action.LABEL
    )
    lead = role_allows(role, Action.ADJUDICATE)
    settings = selectors.quality_settings_get(project=project)
    figures = selectors.reader_quality(
        project=project,
        floor=settings.accuracy_floor,
        username=None if lead else request.user.get_username(),
    )
    if request.GET.get("format") == "csv":
        name = f"reader-quality-project{project.pk}.csv"
        return csv_response(name, CSV_HEADER, _csv_rows(figures))
    overall = [f for f in figures if f.period == "all"]
    context = {
        "project": project,
        "lead": lead,
        "settings": settings,
        "overall": [(f, mark_safe(charts.confusion_svg(f))) for f in overall],  # noqa: S308
        "monthly": [f for f in figures if f.period != "all"],
    }
    return render(request, "quality/reader_quality.html", context)


@login_required
@require_GET
def reference_pool(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_and_role_for(
        user=request.user, project_id=project_id, action=Action.ADJUDICATE
    )
    context = {
        "project": project,
        "settings": selectors.quality_settings_get(project=project),
        "can_manage": role_allows(role, Action.MANAGE),
        "max_rate": MAX_RATE,
        "pool": selectors.reference_pool(project=project),
        "candidates": selectors.reference_candidates(project=project),
    }
    return render(request, "quality/reference_pool.html", context)


def _pool_url(project_id: int) -> str:
    return reverse("quality:reference_pool", args=[project_id])


def _ids(request: HttpRequest) -> list[int]:
    raw = request.POST.getlist("cells")
    if not all(v.isdigit() for v in raw):
        raise ValidationError("cell ids must be numbers")
    return [int(v) for v in raw]


@login_required
@require_POST
def reference_add(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(user=request.user, project_id=project_id, action=Action.ADJUDICATE)
    try:
        added = services.reference_cells_add(
            project=project, user=request.user, cell_ids=_ids(request)
        )
    except REFUSALS as exc:
        return refusal_page(request, exc, back=_pool_url(project.pk), title="Not added")
    messages.success(request, f"{len(added)} reference cell(s) added to the pool.")
    return redirect(_pool_url(project.pk))


@login_required
@require_POST
def reference_retire(request: HttpRequest, project_id: int, reference_id: int) -> HttpResponse:
    project = project_for(user=request.user, project_id=project_id, action=Action.ADJUDICATE)
    reference = ReferenceCell.objects.filter(pk=reference_id, project=project).first()
    if reference is None:
        raise Http404("No such reference cell")
    try:
        services.reference_cell_retire(reference=reference, user=request.user)
    except REFUSALS as exc:
        return refusal_page(request, exc, back=_pool_url(project.pk), title="Not retired")
    messages.success(request, "The reference cell is retired: new cases will not get it.")
    return redirect(_pool_url(project.pk))


def _number(request: HttpRequest, name: str, label: str) -> float:
    try:
        return float(request.POST.get(name, ""))
    except ValueError as exc:
        raise ValidationError({name: [f"{label} must be a number"]}) from exc


@login_required
@require_POST
def quality_settings(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(user=request.user, project_id=project_id, action=Action.MANAGE)
    try:
        services.quality_settings_set(
            project=project,
            user=request.user,
            enabled=request.POST.get("enabled") == "on",
            rate=_number(request, "rate", "the rate"),
            accuracy_floor=_number(request, "accuracy_floor", "the accuracy floor"),
        )
    except REFUSALS as exc:
        return refusal_page(request, exc, back=_pool_url(project.pk), title="Not saved")
    messages.success(request, "Reader QC settings saved.")
    return redirect(_pool_url(project.pk))
