"""Serving a stored patient image: only through a view that has checked access, kept by this
user's browser only (never by shared caches), revalidated by its ETag."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponseNotModified
from django.http.response import HttpResponseBase

# A day; an addressed URL (its content's hash in the URL) may say a year.
PRIVATE_DAY = "private, max-age=86400, immutable"


def private_file_response(
    request: HttpRequest,
    name: str,
    content_type: str,
    etag: str,
    cache_control: str = PRIVATE_DAY,
) -> HttpResponseBase:
    """The stored file `name` (404 when it is missing), or 304 when the browser has it. The
    caller has checked access. `private`: never kept by shared caches."""
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponseBase = HttpResponseNotModified()
    else:
        try:
            response = FileResponse(  # a streaming body: typed apart from HttpResponse
                default_storage.open(name, "rb"), content_type=content_type
            )
        except FileNotFoundError as exc:
            raise Http404("The file is missing") from exc
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    return response
