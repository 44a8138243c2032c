"""Thumbnails at their content addresses (`review.thumbnails`), kept by the browser for a year.
Whatever reaches the server is checked like any request (`cases.access`): a user outside the
project gets 404 even with the right address, and a 304 only after that check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from allreview.cases.access import visible_cases, visible_cells
from allreview.lib.privatefiles import private_file_response
from allreview.lib.thumbpack import PACK_SUFFIX
from allreview.review.thumbnails import ADDRESSED, cell_address


@login_required
@require_GET
def cell_thumbnail_addressed(request: HttpRequest, cell_id: int, sha256: str) -> HttpResponseBase:
    """A thumbnail at its content address (`immutable`: never asked for again)."""
    cell = visible_cells(user=request.user).filter(pk=cell_id).values("thumbnail", "sha256").first()
    if cell is None or cell_address(cell_id, cell["sha256"]) != sha256:
        raise Http404("No such thumbnail")
    etag = f'"{sha256[:32]}t"'
    return private_file_response(request, cell["thumbnail"], "image/jpeg", etag, ADDRESSED)


@login_required
@require_GET
def case_thumbnail_pack(request: HttpRequest, case_id: int, sha256: str) -> HttpResponseBase:
    """Every thumbnail of a case in one response (lib/thumbpack.py) at its content address,
    cached and checked as a single addressed thumbnail is."""
    name = (
        visible_cases(user=request.user)
        .filter(pk=case_id)
        .values_list("thumbnail_pack", flat=True)
        .first()
    )
    if not name or not name.endswith(f"-{sha256}{PACK_SUFFIX}"):
        raise Http404("No such thumbnail pack")
    etag = f'"{sha256[:32]}p"'
    return private_file_response(request, name, "application/octet-stream", etag, ADDRESSED)
