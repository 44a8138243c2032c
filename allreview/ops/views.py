"""Probe endpoints. gunicorn serves the same probes before Django's host and TLS checks
(allreview.wsgi), so a container health check can reach them over plain HTTP."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from allreview.ops.health import HealthReport, liveness, readiness


def report_response(report: HealthReport) -> JsonResponse:
    return JsonResponse(report.as_dict(public=True), status=200 if report.ok else 503)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return report_response(liveness())


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    return report_response(readiness())
