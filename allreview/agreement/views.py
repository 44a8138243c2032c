from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from allreview.agreement import charts
from allreview.agreement.selectors import agreement_rows, override_matrix, project_reads
from allreview.lib.csvstream import csv_response
from allreview.projects.models import Project
from allreview.projects.permissions import Action, role_allows
from allreview.projects.selectors import membership_role


@login_required
@require_GET
def agreement(request: HttpRequest, project_id: int) -> HttpResponse:
    role = membership_role(user=request.user, project_id=project_id)
    if role is None:
        raise Http404("No such project")
    if not role_allows(role, Action.ADJUDICATE):
        raise PermissionDenied("agreement figures are for adjudicators and admins")
    project = get_object_or_404(Project, pk=project_id)
    reads = project_reads(project=project)
    rows = agreement_rows(reads)
    output = request.GET.get("format")
    if output == "csv":
        header = ["period", "a", "b", "n", "kappa", "agree"]
        values = ([r[k] for k in header] for r in rows)
        return csv_response(f"agreement-project{project.pk}.csv", header, values)
    if output == "png":
        response = HttpResponse(charts.kappa_png(rows), content_type="image/png")
        response["Cache-Control"] = "private, max-age=60"
        return response
    context = {
        "project": project,
        "overall": [r for r in rows if r["period"] == "all"],
        "matrix": override_matrix(reads),
        "per_reader": {reader: override_matrix(reads, reader) for reader in reads.readers},
    }
    return render(request, "agreement/agreement.html", context)
