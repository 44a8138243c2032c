"""Exports of a project's cells for leads: CSV, JSON and a C-NMC-layout zip of the final labels
as signed off (open cases have none yet)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from allreview.audit.services import audit_record
from allreview.exports import streams
from allreview.exports.selectors import export_cells, export_columns
from allreview.lib.csvstream import csv_response, download_response
from allreview.projects.access import project_for
from allreview.projects.models import Project
from allreview.projects.permissions import Action


def _project(request: HttpRequest, project_id: int, kind: str) -> Project:
    project = project_for(user=request.user, project_id=project_id, action=Action.ADJUDICATE)
    audit_record(action=f"export.{kind}", actor=request.user, project_id=project.pk)
    return project


@login_required
@require_GET
def cells_csv(request: HttpRequest, project_id: int) -> StreamingHttpResponse:
    project = _project(request, project_id, "csv")
    models, readers = export_columns(project=project)
    rows = streams.csv_values(export_cells(project=project, viewer=request.user), models, readers)
    return csv_response(
        f"allreview-project{project.pk}-cells.csv", streams.csv_header(models, readers), rows
    )


@login_required
@require_GET
def cells_json(request: HttpRequest, project_id: int) -> StreamingHttpResponse:
    project = _project(request, project_id, "json")
    return download_response(
        streams.json_array(export_cells(project=project, viewer=request.user)),
        "application/json",
        f"allreview-project{project.pk}-cells.json",
    )


@login_required
@require_GET
def cnmc_zip(request: HttpRequest, project_id: int) -> StreamingHttpResponse:
    project = _project(request, project_id, "cnmc")
    cells = export_cells(project=project, final_only=True, viewer=request.user)
    return download_response(
        streams.cnmc_zip(cells), "application/zip", f"allreview-project{project.pk}-cnmc.zip"
    )
