"""REST API: read resources as viewsets, commands as actions that call one service."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from allreview.api import serializers as s
from allreview.api.filters import CaseFilter, PredictionFilter
from allreview.api.pagination import MAX_PAGE_SIZE, cell_paginator
from allreview.cases import selectors as cases_selectors
from allreview.cases import services
from allreview.cases.access import visible_cases, visible_cells, visible_predictions
from allreview.cases.ingest import IncomingFile, early_checks_install
from allreview.cases.models import Case, Cell, Prediction
from allreview.cases.selectors import case_upload_warnings
from allreview.lib.users import AnyUser
from allreview.projects.access import project_for, require_somewhere, visible_projects
from allreview.projects.models import Project
from allreview.projects.permissions import Action
from allreview.review.selectors import reading
from allreview.review.selectors.worklist import case_list_for_user
from allreview.review.services.labels import label_set_once


class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.ProjectSerializer
    queryset = Project.objects.none()

    def get_queryset(self) -> Any:
        return visible_projects(user=self.request.user)


class CaseViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.CaseSerializer
    queryset = Case.objects.none()
    filterset_class = CaseFilter
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> Any:
        if self.action == "cells":
            # Listing cells needs the case and its project, not the list's per-case counts:
            # those three subqueries over the case's cells were a third of a 500-cell call.
            return visible_cases(user=self.request.user).select_related("project", "model_version")
        return case_list_for_user(user=self.request.user)

    @extend_schema(
        request=s.CaseUploadSerializer,
        responses={201: s.CaseCreatedSerializer},
        parameters=[
            OpenApiParameter(
                "project",
                int,
                description="The project, checked before the body is read (optional; if given, "
                "the form field must name the same project).",
            )
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Before request.data: reading it spools the whole body, so who may not upload is
        # refused first (by the project in ?project=, else by having no project to upload to).
        hinted = _upload_project_before_body(request)
        if hinted is not None:  # allowed to upload there: check files as they arrive
            early_checks_install(
                request._request, geometry=cases_selectors.model_input_geometry(project=hinted)
            )
        form = s.CaseUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if hinted is not None and hinted.pk != data["project"]:
            raise ValidationError({"project": ["differs from the project in the query string"]})
        project = project_for(user=request.user, project_id=data["project"])
        files = [IncomingFile.from_upload(f) for f in data["files"]]
        case = services.case_upload(
            project=project,
            user=request.user,
            patient_code=data["patient_code"],
            specimen_id=data["specimen_id"],
            files=files,
        )
        created = self.get_queryset().get(pk=case.pk)
        created.warnings = case_upload_warnings(case=case)
        return Response(s.CaseCreatedSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: s.CaseSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        services.case_retry(case=case, user=request.user)
        return Response(
            s.CaseSerializer(self.get_queryset().get(pk=case.pk)).data,
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        responses=s.CellSerializer(many=True),
        parameters=[
            OpenApiParameter("page", int, description="Page number (page-number paging)."),
            OpenApiParameter(
                "page_size",
                int,
                description=f"Cells per page, default 100; more than {MAX_PAGE_SIZE} gets "
                f"{MAX_PAGE_SIZE}.",
            ),
            OpenApiParameter(
                "cursor",
                str,
                description="Cursor paging in cell id order: empty to start, then the cursor "
                "in `next`. Without it, page numbers.",
            ),
        ],
    )
    @action(detail=True, methods=["get"])
    def cells(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        view, cells = _cells_as_seen(case, request.user)
        paginator = cell_paginator(request, self.paginator)
        page = paginator.paginate_queryset(s.cell_values(cells), request, view=self)
        rows = s.cell_rows(
            list(page or []), truth_hidden=view.truth_hidden, names_hidden=view.stand_ins
        )
        response: Response = paginator.get_paginated_response(rows)
        return response


def _upload_project_before_body(request: Request) -> Project | None:
    """The project named by ?project=, checked for the upload role without touching the body:
    404 when the user is not a member, 403 when their role does not upload. Without it, a user
    who may upload nowhere is refused just the same (404 for an outsider, whom no project
    exists for, 403 for a member), before a byte of the body is read."""
    raw = request.query_params.get("project")
    if raw is None:
        require_somewhere(user=request.user, action=Action.UPLOAD)
        return None
    if not raw.isdigit():
        raise ValidationError({"project": ["must be a project id"]})
    return project_for(user=request.user, project_id=int(raw), action=Action.UPLOAD)


def _cells_as_seen(case: Case, user: AnyUser) -> tuple[reading.ReadingView, QuerySet[Cell]]:
    """The case's cells as the reading view lets the user see them: a blinded reader's own
    reads, no imported truth and, where the project says so, no model values."""
    view = reading.reading_view(case=case, user=user)
    label = reading.viewer_label(case=case, user=user, view=view)
    cells = reading.case_cells(
        case=case, label=label, model_hidden=view.model_hidden, stand_ins=view.stand_ins
    )
    return view, cells


class CellViewSet(viewsets.GenericViewSet, mixins.RetrieveModelMixin):
    serializer_class = s.CellSerializer
    queryset = Cell.objects.none()

    def get_queryset(self) -> Any:
        return (
            visible_cells(user=self.request.user)
            .exclude(reading.stand_ins_hidden(user=self.request.user))
            .select_related("case__project")
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cell = self.get_object()
        view, cells = _cells_as_seen(cell.case, request.user)
        shown = cells.filter(pk=cell.pk).first()
        if shown is None:  # reader QC's known-answer cell, to someone it is not shown to
            raise Http404("No such cell")
        return Response(s.CellSerializer(shown, context={"view": view}).data)

    @extend_schema(
        request=s.LabelInputSerializer,
        responses={201: s.LabelSerializer, 200: s.LabelSerializer, 409: None},
    )
    @action(detail=True, methods=["get", "post"], serializer_class=s.LabelSerializer)
    def labels(self, request: Request, pk: str | None = None) -> Response:
        cell = self.get_object()
        if request.method == "GET":
            view = reading.reading_view(case=cell.case, user=request.user)
            history = reading.visible_label_history(cell=cell, user=request.user, view=view)
            return Response(s.LabelSerializer(history.select_related("user"), many=True).data)
        form = s.LabelInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        seen = {cell.pk: data["seen"] or None} if "seen" in data else None
        key = request.headers.get("Idempotency-Key") or data.get("request_id") or ""
        # a locked case or a stale view: 409 (api_exception_handler), nothing written
        label, replayed = label_set_once(
            cell=cell, user=request.user, value=data["value"], seen=seen, request_id=key[:64]
        )
        code = status.HTTP_200_OK if replayed else status.HTTP_201_CREATED
        return Response(s.LabelSerializer(label).data, status=code)


class PredictionViewSet(viewsets.ReadOnlyModelViewSet):
    """Predictions of every model version (they are never overwritten)."""

    serializer_class = s.PredictionSerializer
    queryset = Prediction.objects.none()
    filterset_class = PredictionFilter

    def get_queryset(self) -> Any:
        # a reader blinded to the model's call must not read it here either
        return (
            visible_predictions(user=self.request.user)
            .exclude(cell__case_id__in=reading.model_hidden_case_ids(user=self.request.user))
            .exclude(reading.stand_ins_hidden(user=self.request.user, prefix="cell__"))
            .select_related("model_version")
            .order_by("id")
        )
