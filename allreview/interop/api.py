"""GET /api/v1/cases/{id}/fhir/: the case's report as a FHIR R4 Bundle. Same access as the case
(404 outside its project, `cases.access.case_for`); 409 until it is signed off unless
?status=preliminary (NotSignedOff is a Conflict: `api.exceptions` answers it)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, renderer_classes
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from allreview.cases.access import case_for
from allreview.interop.fhir import CONTENT_TYPE, bundle_build, bundle_json
from allreview.interop.selectors import case_report

STATUSES = ("final", "preliminary")


class FhirJsonRenderer(JSONRenderer):
    """So a FHIR client's `Accept: application/fhir+json` is served rather than refused (406)."""

    media_type = "application/fhir+json"
    format = "fhir"


@extend_schema(
    operation_id="cases_fhir_retrieve",
    parameters=[
        OpenApiParameter(
            "status",
            str,
            enum=list(STATUSES),
            description="`preliminary`: the report of a case still in review (a signed-off "
            "case always gives its signed report). Default: the signed report, 409 without one.",
        ),
        OpenApiParameter(
            "download", bool, description="Served as an attachment (a .fhir.json file)."
        ),
    ],
    responses={
        (200, "application/fhir+json"): OpenApiResponse(
            OpenApiTypes.OBJECT, description="FHIR R4 Bundle (type collection)"
        ),
        409: OpenApiResponse(description="The case is not signed off."),
    },
)
@api_view(["GET"])
@renderer_classes([FhirJsonRenderer, JSONRenderer])
def case_fhir(request: Request, case_id: int) -> HttpResponse:
    case = case_for(user=request.user, case_id=case_id)
    wanted = request.query_params.get("status", "final")
    if wanted not in STATUSES:
        raise ValidationError({"status": [f"must be one of {', '.join(STATUSES)}"]})
    report = case_report(case=case, user=request.user, preliminary=wanted == "preliminary")
    response = HttpResponse(bundle_json(bundle_build(report)), content_type=CONTENT_TYPE)
    if request.query_params.get("download") in {"1", "true"}:
        name = f"allreview-case{case.pk}-{report.status}.fhir.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
