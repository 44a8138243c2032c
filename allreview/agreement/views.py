from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from allreview.agreement import charts
from allreview.agreement.selectors import agreement_rows, override_matrix, project_reads
from allreview.lib.csvstream import csv_response
from allreview.projects.access import project_for
from allreview.projects.permissions import Action


@login_required
@require_GET
def agreement(request: HttpRequest, project_id: int) -> HttpResponseBase:
    project = project_for(user=request.user, project_id=project_id, action=Action.ADJUDICATE)
    reads = project_reads(project=project, viewer=request.user)
    rows = agreement_rows(reads)
    output = request.GET.get("format")
    if output == "csv":
        header = ["period", "a", "b", "n", "kappa", "agree"]
        values = ([r[k] for k in header] for r in rows)
        return csv_response(f"agreement-project{project.pk}.csv", header, values)
    if output in {"svg", "png"}:  # "png": the chart's address in earlier releases; it is SVG now
        response = HttpResponse(charts.kappa_svg(rows), content_type="image/svg+xml; charset=utf-8")
        response["Cache-Control"] = "private, max-age=60"
        return response
    context = {
        "project": project,
        "overall": [r for r in rows if r["period"] == "all"],
        "matrix": override_matrix(reads),
        "per_reader": {reader: override_matrix(reads, reader) for reader in reads.readers},
    }
    return render(request, "agreement/agreement.html", context)
