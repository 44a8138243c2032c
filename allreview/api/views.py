"""REST API: read resources as viewsets, commands as actions that call one service."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from allreview.api import serializers as s
from allreview.api.filters import CaseFilter, PredictionFilter
from allreview.cases import selectors, services
from allreview.cases.ingest import IncomingFile, UploadRejected
from allreview.cases.models import Label, LabelKind, Prediction
from allreview.projects.models import Project
from allreview.projects.permissions import Action
from allreview.projects.selectors import project_ids_for, project_list_for_user
from allreview.review.models import CaseReader


def _django_errors(exc: DjangoValidationError) -> Any:
    return exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}


class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.ProjectSerializer
    queryset = Project.objects.none()

    def get_queryset(self) -> Any:
        return project_list_for_user(user=self.request.user)


class CaseViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.CaseSerializer
    queryset = selectors.Case.objects.none()
    filterset_class = CaseFilter
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> Any:
        return selectors.case_list_for_user(user=self.request.user)

    @extend_schema(request=s.CaseUploadSerializer, responses={201: s.CaseSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = s.CaseUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        project = get_object_or_404(
            Project.objects.filter(pk__in=project_ids_for(user=request.user)), pk=data["project"]
        )
        files = [IncomingFile(f.name, f.read()) for f in data["files"]]
        try:
            case = services.case_upload(
                project=project,
                user=request.user,
                patient_code=data["patient_code"],
                specimen_id=data["specimen_id"],
                files=files,
            )
        except UploadRejected as exc:
            problems = [{"file": p.name, "reason": p.reason} for p in exc.problems]
            return Response(
                {
                    "detail": f"{len(problems)} problem(s); nothing was stored.",
                    "problems": problems,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        except DjangoValidationError as exc:
            raise ValidationError(_django_errors(exc)) from exc
        return Response(
            s.CaseSerializer(self.get_queryset().get(pk=case.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses={202: s.CaseSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        try:
            services.case_retry(case=case, user=request.user)
        except DjangoValidationError as exc:
            raise ValidationError(_django_errors(exc)) from exc
        return Response(
            s.CaseSerializer(self.get_queryset().get(pk=case.pk)).data,
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(responses=s.CellSerializer(many=True))
    @action(detail=True, methods=["get"])
    def cells(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        page = self.paginate_queryset(_cells_as_seen(case, request.user))
        return self.get_paginated_response(s.CellSerializer(page, many=True).data)


def _cells_as_seen(case: Any, user: Any) -> Any:
    """The case's cells with the labels the user may see: a blinded reader's own reads and,
    where the project says so, no model values."""
    view = selectors.reading_view(case=case, user=user)
    label = selectors.viewer_label(case=case, user=user, view=view)
    return selectors.case_cells(case=case, label=label, model_hidden=view.model_hidden)


class CellViewSet(viewsets.GenericViewSet, mixins.RetrieveModelMixin):
    serializer_class = s.CellSerializer
    queryset = selectors.Cell.objects.none()

    def get_queryset(self) -> Any:
        return (
            selectors.Cell.objects.filter(
                case__project_id__in=project_ids_for(user=self.request.user)
            )
            .select_related("case__project")
            .annotate(current_label=selectors.current_label_subquery())
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cell = self.get_object()
        seen = _cells_as_seen(cell.case, request.user).get(pk=cell.pk)
        return Response(s.CellSerializer(seen).data)

    @extend_schema(request=s.LabelInputSerializer, responses={201: s.LabelSerializer})
    @action(detail=True, methods=["get", "post"], serializer_class=s.LabelSerializer)
    def labels(self, request: Request, pk: str | None = None) -> Response:
        cell = self.get_object()
        if request.method == "GET":
            history = Label.objects.filter(cell=cell).select_related("user")
            if selectors.reading_view(case=cell.case, user=request.user).blinded:
                history = history.filter(user=request.user, kind=LabelKind.READ)
            return Response(s.LabelSerializer(history, many=True).data)
        form = s.LabelInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            label = services.label_set(
                cell=cell, user=request.user, value=form.validated_data["value"]
            )
        except DjangoValidationError as exc:
            raise ValidationError(_django_errors(exc)) from exc
        return Response(s.LabelSerializer(label).data, status=status.HTTP_201_CREATED)


class PredictionViewSet(viewsets.ReadOnlyModelViewSet):
    """Predictions of every model version (they are never overwritten)."""

    serializer_class = s.PredictionSerializer
    queryset = Prediction.objects.none()
    filterset_class = PredictionFilter

    def get_queryset(self) -> Any:
        # a reader blinded to the model's call must not read it here either
        hidden = CaseReader.objects.filter(
            case_id=OuterRef("cell__case_id"),
            user_id=self.request.user.pk,
            blinded=True,
            case__project__blind_model_call=True,
        )
        return (
            Prediction.objects.filter(
                cell__case__project_id__in=project_ids_for(
                    user=self.request.user, action=Action.VIEW
                )
            )
            .exclude(Exists(hidden))
            .select_related("model_version")
            .order_by("id")
        )
