from __future__ import annotations

from django.contrib import admin

from allreview.cases.models import Case, Cell, Label, Prediction
from allreview.lib.admin import ReadOnlyAdmin


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "patient_code", "specimen_id", "status", "created_at"]
    list_filter = ["status", "project"]
    search_fields = ["patient_code", "specimen_id"]
    readonly_fields = [
        "uploaded_by",
        "model_version",
        "progress_done",
        "progress_total",
        "claimed_at",
        "enqueued_at",
        "classified_at",
    ]


@admin.register(Cell)
class CellAdmin(admin.ModelAdmin):
    list_display = ["id", "case", "original_name", "image_format", "truth"]
    list_filter = ["truth"]
    readonly_fields = ["image", "thumbnail", "sha256", "size_bytes", "width", "height"]
    raw_id_fields = ["case"]


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    list_display = ["cell", "model_version", "label", "probability", "uncertainty"]
    list_filter = ["model_version", "label"]


@admin.register(Label)
class LabelAdmin(ReadOnlyAdmin):
    list_display = ["cell", "value", "user", "created_at"]
    list_filter = ["value"]
