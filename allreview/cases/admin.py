from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from allreview.audit.admin import AuditedAdmin
from allreview.cases.models import Case, CaseStatus, Cell, Label, Prediction
from allreview.lib.admin import ReadOnlyAdmin

# What a sign-off certified: fixed until a lead reopens the case (audited, on the case page).
SIGNED_FIELDS = ["status", "project", "patient_code", "specimen_id"]


@admin.register(Case)
class CaseAdmin(AuditedAdmin):
    list_display = ["id", "project", "patient_code", "specimen_id", "status", "created_at"]
    list_filter = ["status", "project"]
    search_fields = ["patient_code", "specimen_id"]
    # Cell images are never public media (no URL to link); the pack is made at upload only.
    exclude = ["thumbnail_pack"]
    readonly_fields = [
        "uploaded_by",
        "model_version",
        "progress_done",
        "progress_total",
        "claimed_at",
        "enqueued_at",
        "classified_at",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        # Moving a case would hand its patient's images to another lab; its status moves only
        # through the services (upload, classification, sign-off, reopening), all audited.
        fields += ["project", "status"]
        if obj.status == CaseStatus.SIGNED_OFF or obj.sign_offs.exists():
            fields += [f for f in SIGNED_FIELDS if f not in fields]
        return fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cases come from uploads and imports, which check every image

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Reviewed or signed cases are part of the record (their labels are append-only).
        if obj is not None and (
            obj.sign_offs.exists() or Label.objects.filter(cell__case=obj).exists()
        ):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would skip the per-case check above
        return actions


@admin.register(Cell)
class CellAdmin(ReadOnlyAdmin):
    # A cell's case, image and imported truth are evidence: shown, never edited or deleted here.
    list_display = ["id", "case", "original_name", "image_format", "truth"]
    list_filter = ["truth"]
    # Images are never public media (no URL to link): the admin names the stored file only.
    exclude = ["image", "thumbnail", "model_input"]
    readonly_fields = ["stored_image", "model_input_geometry"]

    @admin.display(description="stored image")
    def stored_image(self, cell: Cell) -> str:
        return str(cell.image.name)


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    list_display = ["cell", "model_version", "label", "probability", "uncertainty"]
    list_filter = ["model_version", "label"]


@admin.register(Label)
class LabelAdmin(ReadOnlyAdmin):
    list_display = ["cell", "value", "user", "created_at"]
    list_filter = ["value"]
