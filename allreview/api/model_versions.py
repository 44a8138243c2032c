"""Model versions in the API: a user sees their projects' own versions and the shared base
models, never another project's private ones (404, as on the pages)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError

from allreview.lib.users import user_pk
from allreview.mlmodels.models import ModelStatus, ModelVersion
from allreview.mlmodels.selectors import model_statuses, model_versions_visible
from allreview.projects.access import project_for
from allreview.projects.models import Membership
from allreview.projects.selectors import project_ids_for


class ModelVersionSerializer(serializers.ModelSerializer):
    shared = serializers.BooleanField(source="is_shared", read_only=True)
    status = serializers.SerializerMethodField(
        help_text="standing in the project named by ?project= (null without it)"
    )

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "name",
            "project",
            "shared",
            "status",
            "profile",
            "architecture",
            "sha256",
            "threshold",
            "initialisation",
            "metrics",
            "training_summary",
            "notes",
            "created_at",
        ]

    def get_status(self, version: ModelVersion) -> str | None:
        statuses = self.context.get("statuses")
        if statuses is None:
            return None
        status: str = statuses.get(version.pk, ModelStatus.CANDIDATE)
        return status


PROJECT_PARAMETER = OpenApiParameter(
    "project",
    OpenApiTypes.INT,
    description="only what this project sees (its own and the shared versions), with status",
)


@extend_schema_view(list=extend_schema(parameters=[PROJECT_PARAMETER]))
class ModelVersionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ModelVersionSerializer
    queryset = ModelVersion.objects.none()

    def _project(self) -> Any:
        raw = self.request.query_params.get("project")
        if raw is None or self.action != "list":
            return None
        if not raw.isdigit():
            raise ValidationError({"project": "a project id (an integer)"})
        return project_for(user=self.request.user, project_id=int(raw))

    def get_queryset(self) -> Any:
        project = self._project()
        if project is not None:
            return model_versions_visible(project=project).order_by("-created_at", "-id")
        user = self.request.user
        visible = Q(project_id__in=project_ids_for(user=user))
        if Membership.objects.filter(user_id=user_pk(user)).exists():
            visible |= Q(project__isnull=True)  # shared base models: for members of a project
        return ModelVersion.objects.filter(visible).order_by("-created_at", "-id")

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        project = self._project() if getattr(self, "action", None) == "list" else None
        if project is not None:
            context["statuses"] = model_statuses(project=project)
        return context
