"""The field page (a field with every cell outlined, coloured by its label, beside its cells)
and its endpoints: the field image, its cells as JSON, add a missed cell, reject a detection and
take a rejection back."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from allreview.cases.access import cell_for
from allreview.cases.models import CaseStatus
from allreview.fields import selectors, services
from allreview.fields.access import field_for
from allreview.fields.models import Field
from allreview.lib.privatefiles import private_file_response
from allreview.lib.refusals import REFUSALS, refusal_json
from allreview.projects.permissions import Action, role_allows
from allreview.projects.selectors import membership_role
from allreview.review.selectors.reading import reading_view


def _field(request: HttpRequest, field_id: int) -> Field:
    return field_for(user=request.user, field_id=field_id)


def _cells_state(request: HttpRequest, field: Field) -> dict[str, Any]:
    view = reading_view(case=field.case, user=request.user)
    return {
        "cells": selectors.field_cells(field=field, user=request.user, view=view),
        "model_hidden": view.model_hidden,
    }


@login_required
@require_GET
def field_detail(request: HttpRequest, field_id: int) -> HttpResponse:
    field = _field(request, field_id)
    case = field.case
    role = membership_role(user=request.user, project_id=case.project_id)
    view = reading_view(case=case, user=request.user, role=role)
    can_label = (
        role_allows(role, Action.LABEL) and view.may_label and case.status != CaseStatus.SIGNED_OFF
    )
    state = _cells_state(request, field)
    page = {
        "field": field.pk,
        "case": case.pk,
        "width": field.width,
        "height": field.height,
        "can_label": can_label and field.status == "done",
        **state,
    }
    context = {
        "field": field,
        "case": case,
        "fields": list(selectors.case_fields(case=case).values("pk", "original_name")),
        "page": page,
        "can_label": page["can_label"],
    }
    return render(request, "fields/field_detail.html", context)


@login_required
@require_GET
def field_image(request: HttpRequest, field_id: int) -> HttpResponseBase:
    field = _field(request, field_id)
    content_type = f"image/{field.image_format.lower()}"
    etag = f'"{field.sha256[:32]}f"'
    return private_file_response(request, field.image.name, content_type, etag)


def _point(body: dict[str, Any]) -> tuple[int, int]:
    x, y = body.get("x"), body.get("y")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
        raise ValidationError("give the point as numbers 'x' and 'y' in field pixels")
    return int(x), int(y)  # type: ignore[arg-type]


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as exc:
        raise ValidationError("the request body is not JSON") from exc
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    return body


@login_required
@require_http_methods(["GET", "POST"])
def field_cells(request: HttpRequest, field_id: int) -> JsonResponse:
    """GET: the field's cells as the user sees them. POST {"x", "y"}: add the cell the
    segmentation missed at that point (201 with the new cell and the cells), 400 when none is
    found there."""
    field = _field(request, field_id)
    if request.method == "GET":
        return JsonResponse(_cells_state(request, field))
    try:
        x, y = _point(_json_body(request))
        cell = services.field_cell_add(field=field, user=request.user, x=x, y=y)
    except REFUSALS as exc:
        return refusal_json(exc)
    return JsonResponse({"cell": cell.pk, **_cells_state(request, field)}, status=201)


@login_required
@require_POST
def detection_reject(request: HttpRequest, cell_id: int) -> JsonResponse:
    """{"reason": "..."}: the detection is not a cell; labelled artifact, audited."""
    cell = cell_for(user=request.user, cell_id=cell_id)
    try:
        reason = str(_json_body(request).get("reason", ""))
        provenance = services.detection_reject(cell=cell, user=request.user, reason=reason)
    except REFUSALS as exc:
        return refusal_json(exc)
    field = provenance.field
    field.case = cell.case
    return JsonResponse({"cell": cell.pk, **_cells_state(request, field)})


@login_required
@require_POST
def detection_restore(request: HttpRequest, cell_id: int) -> JsonResponse:
    """Take a rejection back: the artifact label gives way to the cell's earlier label; audited."""
    cell = cell_for(user=request.user, cell_id=cell_id)
    try:
        provenance = services.detection_restore(cell=cell, user=request.user)
    except REFUSALS as exc:
        return refusal_json(exc)
    field = provenance.field
    field.case = cell.case
    return JsonResponse({"cell": cell.pk, **_cells_state(request, field)})
