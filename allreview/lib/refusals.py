"""The one way a page or a fetch is refused: a form post gets a page with the reason and the
status that says why (403 not allowed, 409 locked or stale, 400 invalid), a fetch gets the same
as JSON. Never a redirect with a message: a refusal must not look like a success. (The API's
refusals go through `api.exceptions.api_exception_handler`, which asks this module too.)"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from allreview.lib.conflict import Conflict

# What views catch from a service; anything else (Http404 included) is not a refusal to explain.
REFUSALS = (ValidationError, PermissionDenied, Conflict)
Refusal = ValidationError | PermissionDenied | Conflict

TITLES = {403: "Not allowed", 409: "Not changed: the case has moved on", 400: "Not accepted"}


def refusal_status(exc: Refusal) -> int:
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, Conflict):  # before ValidationError: a locked case is both
        return 409
    return 400


def refusal_detail(exc: Refusal) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def refusal_body(exc: Refusal) -> dict[str, object]:
    extra = exc.extra if isinstance(exc, Conflict) else {}
    return {"detail": refusal_detail(exc), **extra}


def refusal_json(exc: Refusal) -> JsonResponse:
    return JsonResponse(refusal_body(exc), status=refusal_status(exc))


def refusal_page(request: HttpRequest, exc: Refusal, *, back: str, title: str = "") -> HttpResponse:
    status = refusal_status(exc)
    context = {"title": title or TITLES[status], "detail": refusal_detail(exc), "back": back}
    return render(request, "refused.html", context, status=status)


def wants_json(request: HttpRequest) -> bool:
    """A fetch that asked for JSON (Accept: application/json), not a form post."""
    return "application/json" in request.headers.get("Accept", "")


def refusal_response(
    request: HttpRequest, exc: Refusal, *, back: str, title: str = ""
) -> HttpResponse:
    """JSON for a fetch that asked for it, else the page."""
    if wants_json(request):
        return refusal_json(exc)
    return refusal_page(request, exc, back=back, title=title)


def safe_next(request: HttpRequest, default: str) -> str:
    """The `next` the form carried if it is a local URL of ours, else `default` (a URL name)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)
