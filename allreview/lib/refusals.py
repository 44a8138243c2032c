"""One way to refuse a write from the review pages: a form post gets a page with the reason and
the status that says why (403 not allowed, 409 locked or stale, 400 invalid), a fetch gets the
same as JSON. Never a redirect with a message: a refusal must not look like a success."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from allreview.cases.services import CaseLocked, StaleLabels

Refusal = ValidationError | PermissionDenied | StaleLabels

TITLES = {403: "Not allowed", 409: "Not changed: the case has moved on", 400: "Not accepted"}


def refusal_status(exc: Refusal) -> int:
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, CaseLocked | StaleLabels):
        return 409
    return 400


def refusal_detail(exc: Refusal) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def refusal_json(exc: Refusal, **extra: Any) -> JsonResponse:
    body: dict[str, Any] = {"detail": refusal_detail(exc), **extra}
    if isinstance(exc, StaleLabels):
        body["fresh"] = exc.fresh
    return JsonResponse(body, status=refusal_status(exc))


def refusal_page(request: HttpRequest, exc: Refusal, *, back: str, title: str = "") -> HttpResponse:
    status = refusal_status(exc)
    context = {"title": title or TITLES[status], "detail": refusal_detail(exc), "back": back}
    return render(request, "refused.html", context, status=status)


def safe_next(request: HttpRequest, default: str) -> str:
    """The `next` the form carried if it is a local URL of ours, else `default` (a URL name)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)
