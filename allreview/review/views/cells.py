"""Cell endpoints of the case page: relabel (one or many cells), undo, the cell view's data,
saliency overlays and the image files."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from allreview.cases.access import case_for, cell_for, visible_cells
from allreview.cases.models import Case, Cell, Prediction
from allreview.lib.privatefiles import private_file_response
from allreview.lib.refusals import REFUSALS, refusal_json, refusal_response, wants_json
from allreview.review import hooks
from allreview.review.saliency import saliency_request
from allreview.review.selectors.final import final_label_subquery
from allreview.review.selectors.labels import cells_reads
from allreview.review.selectors.reading import (
    ReadingView,
    cell_label_history,
    reading_facts,
    reading_view,
    reading_view_of,
)
from allreview.review.services import labels
from allreview.review.summary import case_summary
from allreview.review.thumbnails import cell_address
from allreview.review.views.case_page import summary_html

MAX_CELLS_PER_ACTION = 5000
ACCEPT_MODEL = "model"  # the value that means "accept the model's call" (the Enter key)


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as exc:
        raise ValidationError("the request body is not JSON") from exc
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    return body


def _cell_ids(body: dict[str, Any]) -> list[int]:
    ids = body.get("cells")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_CELLS_PER_ACTION:
        raise ValidationError(f"give 1 to {MAX_CELLS_PER_ACTION} cell ids in 'cells'")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValidationError("cell ids must be integers")
    return list(dict.fromkeys(ids))


def _seen(body: dict[str, Any], ids: list[int]) -> dict[int, str | None] | None:
    """{"<cell id>": label or null}: the label each cell showed when the action was taken.
    Absent: no check (an API client that does not say what it saw)."""
    seen = body.get("seen")
    if seen is None:
        return None
    if not isinstance(seen, dict):
        raise ValidationError("'seen' must map cell ids to the label each showed (or null)")
    shown: dict[int, str | None] = {}
    for key, value in seen.items():
        if not str(key).isdigit() or not (value is None or isinstance(value, str)):
            raise ValidationError("'seen' must map cell ids to the label each showed (or null)")
        shown[int(key)] = value or None
    missing = [i for i in ids if i not in shown]
    if missing:
        raise ValidationError(f"'seen' has no entry for cell {missing[0]}")
    return shown


def _model_version(body: dict[str, Any]) -> int | None:
    value = body.get("model_version")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValidationError("'model_version' must be the id of the model version shown")
    return value


def request_id(request: HttpRequest, body: dict[str, Any] | None = None) -> str:
    """The client's id for this write (Idempotency-Key header, or a `request_id` field)."""
    raw = request.headers.get("Idempotency-Key") or (body or {}).get("request_id") or ""
    raw = raw if isinstance(raw, str) else ""
    if len(raw) > 64:
        raise ValidationError("a request id has at most 64 characters")
    return raw.strip()


def _batch_response(request: HttpRequest, batch: labels.LabelBatch, status: int) -> JsonResponse:
    case = batch.case  # the case as the write found it under its lock
    assert case is not None, "every label write answers with its case"
    summary = case_summary(case=case, user=request.user, view=batch.view)
    changes = [{"cell": c.cell_id, "before": c.before, "after": c.after} for c in batch.changes]
    return JsonResponse(
        {
            "batch": batch.batch,
            "changes": changes,
            "summary_html": summary_html(request, case, summary),
            "open_cells": summary.open_cells,
            "replayed": batch.replayed,
        },
        status=200 if batch.replayed else status,
    )


@login_required
@require_POST
def case_labels(request: HttpRequest, case_id: int) -> JsonResponse:
    """One action on one or more cells: {"cells": [ids], "value": "all|hem|unsure|artifact|model",
    "seen": {id: label shown or null}, "model_version": id shown (to accept the model's call),
    "request_id": "..."}. 201 saved, 200 a repeated request id (saved before), 409 with the
    fresh state when the page showed something that is no longer so. The service looks the case
    up under the access rule with its lock (404 for an outsider): one query, not three."""
    try:
        body = _json_body(request)
        ids = _cell_ids(body)
        seen = _seen(body, ids)
        key = request_id(request, body)
        if body.get("value") == ACCEPT_MODEL:
            batch = labels.labels_accept_model(
                case=case_id,
                user=request.user,
                cell_ids=ids,
                model_version_id=_model_version(body),
                seen=seen,
                request_id=key,
            )
        else:
            batch = labels.labels_set_bulk(
                case=case_id,
                user=request.user,
                values=dict.fromkeys(ids, str(body.get("value"))),
                seen=seen,
                request_id=key,
            )
    except REFUSALS as exc:
        return refusal_json(exc)
    return _batch_response(request, batch, 201)


@login_required
@require_POST
def case_labels_undo(request: HttpRequest, case_id: int) -> JsonResponse:
    """Undo one of my actions: {"batch": id}."""
    case = case_for(user=request.user, case_id=case_id)
    try:
        batch_id = str(_json_body(request).get("batch", ""))
        batch = labels.label_undo(case=case, user=request.user, batch=batch_id)
    except REFUSALS as exc:
        return refusal_json(exc)
    return _batch_response(request, batch, 200)


@login_required
@require_POST
def cell_label(request: HttpRequest, cell_id: int) -> HttpResponse:
    """One cell by form post (redirects back) or fetch (Accept: application/json gets JSON).
    `seen` (the label shown, blank for none) refuses a call on a stale view with 409; a
    refused form post gets a page saying why."""
    cell = cell_for(user=request.user, cell_id=cell_id)
    seen = {cell.pk: request.POST["seen"] or None} if "seen" in request.POST else None
    try:
        label = labels.label_set(
            cell=cell,
            user=request.user,
            value=request.POST.get("value", ""),
            seen=seen,
            request_id=request_id(request, {"request_id": request.POST.get("request_id")}),
        )
    except REFUSALS as exc:
        back = reverse("review:case_detail", args=[cell.case_id])
        return refusal_response(request, exc, back=back)
    if wants_json(request):
        return JsonResponse({"cell": cell.pk, "value": label.value}, status=201)
    return redirect("review:case_detail", case_id=cell.case_id)


def _model_hidden(request: HttpRequest, case: Case) -> bool:
    return reading_view(case=case, user=request.user).model_hidden


def _prediction(cell: Cell) -> Prediction | None:
    return (
        Prediction.objects.filter(cell=cell, model_version_id=cell.case.model_version_id)
        .select_related("model_version")
        .first()
    )


def _prediction_facts(cell: Cell) -> dict[str, Any] | None:
    """The panel's model facts in one narrow query: the whole prediction and model version rows
    (the version's metrics are JSON) cost the panel more CPU than anything it shows."""
    facts = (
        Prediction.objects.filter(cell=cell, model_version_id=cell.case.model_version_id)
        .values("label", "probability", "uncertainty", "saliency", model=F("model_version__name"))
        .first()
    )
    if facts is None:
        return None
    return {**facts, "saliency": bool(facts["saliency"])}


def _reads_facts(cell: Cell, view: ReadingView) -> dict[str, Any]:
    """Each reader's newest read and the final label, for the unblinded in a double-read case."""
    if view.blinded or not view.double_read:
        return {}
    final = (
        Cell.objects.filter(pk=cell.pk)
        .annotate(final=final_label_subquery())
        .values_list("final", flat=True)
        .get()
    )
    reads = cells_reads(cell_ids=[cell.pk]).get(cell.pk, {})
    return {"reads": reads, "final": final}


@login_required
@require_GET
def cell_panel(request: HttpRequest, cell_id: int) -> JsonResponse:
    """What the cell view shows: prediction, model version and the label history; a blinded
    reader gets only their own labels, and no model values if the project hides them."""
    # the role and the reading view's facts come with the cell: one query, not four
    facts = reading_facts(user=request.user, case="case_id", role_of="case__project_id")
    cell = cell_for(user=request.user, cell_id=cell_id, annotations=facts)
    row: Any = cell  # carries the annotations
    view = reading_view_of(case=cell.case, role=row.member_role, facts=cell)
    history = cell_label_history(cell=cell, user=request.user, view=view)
    return JsonResponse(
        {
            "cell": cell.pk,
            # reader QC: a file name would tell a known-answer cell from the case's own
            "name": "" if view.stand_ins else cell.original_name,
            "size": [cell.width, cell.height],
            "blinded": view.blinded,
            "model_hidden": view.model_hidden,
            "prediction": None if view.model_hidden else _prediction_facts(cell),
            "history": [
                {
                    "value": h["value"] or None,
                    "kind": h["kind"],
                    "user": h["username"],
                    "at": h["created_at"].isoformat(timespec="seconds"),
                }
                for h in history
            ],
            **_reads_facts(cell, view),
            **hooks.cell_panel_extras(cell),  # issue 14: the field it was cut from
        }
    )


@login_required
@require_POST
def cell_saliency(request: HttpRequest, cell_id: int) -> JsonResponse:
    """Ask for the overlay; 200 when ready, 202 while a worker computes it (poll again)."""
    cell = cell_for(user=request.user, cell_id=cell_id)
    if _model_hidden(request, cell.case):
        return JsonResponse({"status": "hidden"}, status=404)
    state = saliency_request(prediction=_prediction(cell))
    if state.status == "ready":
        return JsonResponse({"status": "ready", "url": f"/cells/{cell.pk}/saliency.png"})
    if state.status == "retry":  # the broker is down: say so, and when to ask again
        response = JsonResponse({"status": "retry", "detail": state.detail}, status=503)
        response["Retry-After"] = "60"
        return response
    return JsonResponse({"status": state.status}, status=202 if state.status == "pending" else 404)


def _cell_file(request: HttpRequest, cell_id: int, field: str) -> HttpResponseBase:
    """A cell's stored image or thumbnail, under the access rule's query (`visible_cells`, what
    `cell_for` asks for viewing) narrowed to the three values the response needs: loading the
    whole cell, case and project rows cost a thumbnail more CPU than serving the file."""
    cell = (
        visible_cells(user=request.user)
        .filter(pk=cell_id)
        .values(field, "sha256", "image_format")
        .first()
    )
    if cell is None:
        raise Http404("No such cell")
    thumb = field == "thumbnail"
    content_type = "image/jpeg" if thumb else f"image/{cell['image_format'].lower()}"
    etag = f'"{cell_address(cell_id, cell["sha256"])[:32]}{"t" if thumb else "i"}"'
    return private_file_response(request, cell[field], content_type, etag)


@login_required
@require_GET
def cell_image(request: HttpRequest, cell_id: int) -> HttpResponseBase:
    return _cell_file(request, cell_id, "image")


@login_required
@require_GET
def cell_thumbnail(request: HttpRequest, cell_id: int) -> HttpResponseBase:
    return _cell_file(request, cell_id, "thumbnail")


@login_required
@require_GET
def cell_saliency_image(request: HttpRequest, cell_id: int) -> HttpResponseBase:
    cell = cell_for(user=request.user, cell_id=cell_id)
    prediction = None if _model_hidden(request, cell.case) else _prediction(cell)
    if prediction is None or not prediction.saliency:
        raise Http404("No saliency overlay yet")
    etag = f'"{cell.sha256[:32]}s{prediction.model_version_id}"'
    return private_file_response(request, prediction.saliency.name, "image/png", etag)
