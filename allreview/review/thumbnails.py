"""Cell images as files, and the thumbnails at their content addresses: one cell's thumbnail,
or every thumbnail of a case in one pack, so the gallery paints from one request."""

from __future__ import annotations

import hashlib

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
)
from django.views.decorators.http import require_GET

from allreview.cases.models import Case, Cell
from allreview.lib.thumbpack import PACK_SUFFIX
from allreview.projects.selectors import project_ids_for

# A year: as long as HTTP caches keep anything; what an addressed URL names never changes.
ADDRESSED = f"private, max-age={365 * 24 * 3600}, immutable"


def private_file(
    request: HttpRequest,
    name: str,
    content_type: str,
    etag: str,
    cache_control: str = "private, max-age=86400, immutable",
) -> HttpResponse:
    """A stored file, or 304 when the browser holds this ETag. The caller has checked access.
    Patient images: kept by this user's browser only, never by shared caches (`private`)."""
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        try:
            response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
        except FileNotFoundError as exc:
            raise Http404("The file is missing") from exc
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    return response


def cell_address(cell_id: int, sha256: str) -> str:
    """A cell's content address: its image's sha256 bound to the row. Never the bare image hash:
    a reader QC known-answer cell shares its image (and hash) with another patient's cell, and
    equal addresses or ETags would link the two."""
    return hashlib.blake2b(f"{sha256}:{cell_id}".encode(), digest_size=32).hexdigest()


def thumbnail_url(cell_id: int, sha256: str) -> str:
    """A thumbnail's address: the cell and its image's content, from which the thumbnail is cut
    once, at upload, and never again. Other content, another URL."""
    return f"/cells/{cell_id}/thumbnail/{cell_address(cell_id, sha256)}.jpg"


def thumbnail_pack_url(case: Case) -> str:
    """The address of the case's thumbnail pack (the sha256 of its bytes); "" without one."""
    name = case.thumbnail_pack.name or ""
    if not name.endswith(PACK_SUFFIX):
        return ""
    sha256 = name.rsplit("-", 1)[-1].removesuffix(PACK_SUFFIX)
    return f"/cases/{case.pk}/thumbnails/{sha256}{PACK_SUFFIX}"


@login_required
@require_GET
def cell_thumbnail_addressed(request: HttpRequest, cell_id: int, sha256: str) -> HttpResponse:
    """A thumbnail at its content address, kept by the browser for a year without asking again
    (`immutable`). Whatever reaches the server is checked like any request: a user outside the
    project gets 404 even with the right address, and a 304 only after that check."""
    cell = (
        Cell.objects.filter(pk=cell_id, case__project_id__in=project_ids_for(user=request.user))
        .values("thumbnail", "sha256")
        .first()
    )
    if cell is None or cell_address(cell_id, cell["sha256"]) != sha256:
        raise Http404("No such thumbnail")
    return private_file(request, cell["thumbnail"], "image/jpeg", f'"{sha256[:32]}t"', ADDRESSED)


@login_required
@require_GET
def case_thumbnail_pack(request: HttpRequest, case_id: int, sha256: str) -> HttpResponse:
    """Every thumbnail of a case in one response (lib/thumbpack.py) at its content address,
    cached and checked as a single addressed thumbnail is."""
    name = (
        Case.objects.filter(pk=case_id, project_id__in=project_ids_for(user=request.user))
        .values_list("thumbnail_pack", flat=True)
        .first()
    )
    if not name or not name.endswith(f"-{sha256}{PACK_SUFFIX}"):
        raise Http404("No such thumbnail pack")
    etag = f'"{sha256[:32]}p"'
    return private_file(request, name, "application/octet-stream", etag, ADDRESSED)
