"""Pages of interop: the printable case report, a project's FHIR server setting with its recent
pushes, and a lead's "send the report" on a signed-off case."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from allreview.cases.access import case_for
from allreview.interop import selectors, services
from allreview.interop.models import FhirPush
from allreview.lib.refusals import REFUSALS, refusal_page
from allreview.projects.access import project_and_role_for
from allreview.projects.permissions import Action, role_allows

PUSHES_PER_PAGE = 50
BLASTS_SHOWN = 120


@login_required
@require_http_methods(["GET"])
def case_report(request: HttpRequest, case_id: int) -> HttpResponse:
    """The printable report: the signed one, or while in review a preliminary one, marked so."""
    case = case_for(user=request.user, case_id=case_id)
    back = reverse("review:case_detail", args=[case.pk])
    try:
        report = selectors.case_report(case=case, user=request.user, preliminary=True)
    except selectors.NotSignedOff as exc:  # 409
        return refusal_page(request, exc, back=back, title="No report yet")
    except REFUSALS as exc:
        return refusal_page(request, exc, back=back)
    context = {
        "case": case,
        "report": report,
        "blasts": report.blast_cell_ids[:BLASTS_SHOWN],
        "blasts_more": max(len(report.blast_cell_ids) - BLASTS_SHOWN, 0),
        "metrics": report.score.metrics if report.score else None,
    }
    return render(request, "interop/report.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def fhir_endpoint(request: HttpRequest, project_id: int) -> HttpResponse:
    """Leads see where reports go and how the pushes went; admins change the setting."""
    action = Action.MANAGE if request.method == "POST" else Action.ADJUDICATE
    project, role = project_and_role_for(user=request.user, project_id=project_id, action=action)
    error = ""
    if request.method == "POST":
        try:
            services.fhir_endpoint_set(
                project=project,
                user=request.user,
                base_url=request.POST.get("base_url", ""),
                push_enabled=request.POST.get("push_enabled") == "on",
                token=request.POST.get("token", ""),
                clear_token=request.POST.get("clear_token") == "on",
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, "FHIR server setting saved.")
            return redirect("interop:fhir_endpoint", project_id=project.pk)
    pushes = FhirPush.objects.filter(case__project=project).select_related("case", "sign_off")
    context = {
        "project": project,
        "endpoint": selectors.fhir_endpoint(project_id=project.pk),
        "can_manage": role_allows(role, Action.MANAGE),
        "page": Paginator(pushes.order_by("-id"), PUSHES_PER_PAGE).get_page(
            request.GET.get("page")
        ),
        "error": error,
        "posted": request.POST if error else None,
    }
    return render(request, "interop/endpoint.html", context, status=400 if error else 200)


@login_required
@require_POST
def case_fhir_push(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_for(user=request.user, case_id=case_id)
    back = reverse("review:case_detail", args=[case.pk])
    try:
        services.fhir_push_request(case=case, user=request.user)
    except REFUSALS as exc:
        return refusal_page(request, exc, back=back, title="Report not sent")
    messages.success(request, "The signed report is queued for the project's FHIR server.")
    return redirect(back)
