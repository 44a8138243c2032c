from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from rest_framework import serializers

from allreview.cases.models import Case, Cell, Label, LabelValue, Prediction
from allreview.mlmodels.models import ModelVersion
from allreview.projects.models import Project


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "name", "description", "created_at"]


class CaseSerializer(serializers.ModelSerializer):
    project: serializers.PrimaryKeyRelatedField[Project] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    model_version: serializers.SlugRelatedField[ModelVersion] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    n_cells = serializers.IntegerField(read_only=True)
    n_predicted_blasts = serializers.IntegerField(read_only=True)
    n_reviewed = serializers.IntegerField(read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)

    # A blinded reader must not learn how far the others are, nor the model's tally.
    BLINDED_FIELDS = ("n_predicted_blasts", "n_reviewed")

    def to_representation(self, instance: Case) -> dict[str, Any]:
        data = super().to_representation(instance)
        if getattr(instance, "viewer_blinded", False):
            data.update(dict.fromkeys(self.BLINDED_FIELDS))
        return data

    class Meta:
        model = Case
        fields = [
            "id",
            "project",
            "patient_code",
            "specimen_id",
            "status",
            "status_detail",
            "model_version",
            "progress_done",
            "progress_total",
            "progress_percent",
            "n_cells",
            "n_predicted_blasts",
            "n_reviewed",
            "created_at",
            "classified_at",
        ]


class CaseCreatedSerializer(CaseSerializer):
    warnings = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="What did not stop the upload but should be known, e.g. a likely re-upload.",
    )

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "warnings"]


class CaseUploadSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    patient_code = serializers.CharField(max_length=64)
    specimen_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        allow_empty=False,
        help_text="Cell images (BMP, PNG, JPEG, TIFF) and/or zip archives of them.",
    )


# On a case with reader QC's known-answer cells, their file name and sha256 (another patient's,
# the same as in that patient's case) would tell them apart: blank for every cell of the case.
QC_HIDDEN = {"original_name": "", "sha256": ""}


class CellSerializer(serializers.ModelSerializer):
    """A cell as the requesting user may see it: the view passes the reading view in the
    context (`view`); where it hides the imported truth (a blinded read) truth is null."""

    probability = serializers.FloatField(read_only=True, allow_null=True)
    predicted_label = serializers.CharField(read_only=True, allow_null=True)
    uncertainty = serializers.FloatField(read_only=True, allow_null=True)
    current_label = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Cell
        fields = [
            "id",
            "case",
            "original_name",
            "sha256",
            "width",
            "height",
            "image_format",
            "truth",
            "probability",
            "predicted_label",
            "uncertainty",
            "current_label",
        ]

    def to_representation(self, instance: Cell) -> dict[str, Any]:
        data = super().to_representation(instance)
        view = self.context.get("view")
        if view is None or view.truth_hidden:
            data["truth"] = None  # no reading view given: hide rather than guess
        if view is not None and view.stand_ins:
            data.update(QC_HIDDEN)  # reader QC: these would tell a known-answer cell apart
        return data


def cell_values(cells: QuerySet[Cell]) -> QuerySet[Cell, dict[str, Any]]:
    """A case's cells as plain rows with CellSerializer's keys, values and types (a test
    compares them with the cell detail, which uses CellSerializer). Building 500 model instances
    and running the serializer's fields on each took longer than the query."""
    rows: QuerySet[Cell, dict[str, Any]] = cells.values(*CellSerializer.Meta.fields)
    return rows


def cell_rows(
    page: list[dict[str, Any]], *, truth_hidden: bool, names_hidden: bool = False
) -> list[dict[str, Any]]:
    """A page of cell_values as the reading view lets the user see it (see CellSerializer)."""
    for row in page:
        if truth_hidden:
            row["truth"] = None
        if names_hidden:
            row.update(QC_HIDDEN)
    return page


class PredictionSerializer(serializers.ModelSerializer):
    model_version: serializers.SlugRelatedField[ModelVersion] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )

    class Meta:
        model = Prediction
        fields = [
            "id",
            "cell",
            "model_version",
            "probability",
            "label",
            "uncertainty",
            "created_at",
        ]


class LabelSerializer(serializers.ModelSerializer):
    user: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Label
        fields = ["id", "cell", "value", "kind", "user", "created_at"]
        read_only_fields = ["id", "cell", "kind", "user", "created_at"]


class LabelInputSerializer(serializers.Serializer):
    value = serializers.ChoiceField(choices=LabelValue.choices)
    seen = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=8,
        help_text="The label the cell showed you (blank or null: none). When given, a cell "
        "labelled since answers 409 with its current state instead of being overwritten.",
    )
    request_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="Your id for this write (or the Idempotency-Key header): a retried request "
        "is not written twice and answers 200 with the label saved the first time.",
    )
