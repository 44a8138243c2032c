"""POSTing a bundle to a FHIR server over HTTP(S), standard library only. Redirects are not
followed (a POST would turn into a GET); every outcome comes back as a PostResult, never raised."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from allreview.interop.fhir import CONTENT_TYPE

ERROR_BODY_CHARS = 500


@dataclass(frozen=True)
class PostResult:
    ok: bool
    status: int | None  # None: no HTTP answer (refused, timed out, name unknown)
    location: str
    error: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def bundle_url(base_url: str) -> str:
    """Where a collection Bundle is created on a FHIR server: POST [base]/Bundle."""
    return base_url.rstrip("/") + "/Bundle"


def bundle_post(*, url: str, body: bytes, token: str, timeout: float) -> PostResult:
    headers = {"Content-Type": CONTENT_TYPE, "Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as reply:
            location = reply.headers.get("Location") or reply.headers.get("Content-Location") or ""
            return PostResult(True, reply.status, location[:500], "")
    except urllib.error.HTTPError as error:
        detail = error.read(ERROR_BODY_CHARS).decode("utf-8", "replace").strip()
        message = f"HTTP {error.code} {error.reason}" + (f": {detail}" if detail else "")
        return PostResult(False, error.code, "", message)
    except OSError as error:  # URLError, timeouts and refused connections are all OSErrors
        reason = getattr(error, "reason", error)
        return PostResult(False, None, "", f"no answer from the server: {reason}")
