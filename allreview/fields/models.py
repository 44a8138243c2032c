"""Whole smear fields (issue 14): a field image of a case, and where each cell found in it came
from (box, mask, detection score), so the cell can be shown in its field and rebuilt."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from allreview.lib.appendonly import AppendOnlyModel


class FieldStatus(models.TextChoices):
    PENDING = "pending", "Waiting for segmentation"
    SEGMENTING = "segmenting", "Segmenting"
    DONE = "done", "Segmented"
    FAILED = "failed", "Failed"


def field_image_path(field: Field, filename: str) -> str:
    return f"fields/{field.case.project_id}/{field.case_id}/{filename}"


class Field(models.Model):
    """One field-of-view image of a stained smear, uploaded in a case."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="fields")
    image = models.FileField(upload_to=field_image_path, max_length=300)
    thumbnail = models.FileField(upload_to=field_image_path, max_length=300)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    image_format = models.CharField(max_length=8)
    original_name = models.CharField(max_length=255)
    status = models.CharField(
        max_length=12, choices=FieldStatus.choices, default=FieldStatus.PENDING, db_index=True
    )
    status_detail = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    segmented_at = models.DateTimeField(null=True, blank=True)
    cell_diameter = models.FloatField(null=True, blank=True)  # the scale it was segmented at
    cells_found = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "sha256"], name="field_unique_image_in_case")
        ]

    def __str__(self) -> str:
        return f"Field {self.pk} of case {self.case_id}"


class CellOrigin(models.TextChoices):
    DETECTED = "detected", "Detected"
    ADDED = "added", "Added by a reviewer"


class CellProvenance(models.Model):
    """Where a cell was cut from: its field, box (field pixels, end-exclusive), mask (run
    lengths inside the box, row-major, starting with background) and outline, the detection's
    score, whether the field's edge cuts it, and the reviewer's rejection or addition."""

    cell = models.OneToOneField("cases.Cell", on_delete=models.CASCADE, related_name="provenance")
    field = models.ForeignKey(Field, on_delete=models.CASCADE, related_name="provenance")
    x0 = models.PositiveIntegerField()
    y0 = models.PositiveIntegerField()
    x1 = models.PositiveIntegerField()
    y1 = models.PositiveIntegerField()
    mask = models.JSONField()  # {"size": [h, w], "counts": [...]}
    polygon = models.JSONField(default=list)  # [[x, y], ...] in field pixels
    score = models.FloatField()
    edge = models.BooleanField(default=False)
    origin = models.CharField(max_length=8, choices=CellOrigin.choices, default=CellOrigin.DETECTED)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reject_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"cell {self.cell_id} from field {self.field_id}"

    @property
    def box(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


class DetectionReviewKind(models.TextChoices):
    REJECT = "reject", "Rejected: not a cell"
    RESTORE = "restore", "Restored: a cell after all"


class DetectionReview(AppendOnlyModel):
    """A reviewer's rejection of a detection or the taking back of one, append-only: the
    provenance's `rejected_*` fields say how it stands now, these rows who said what and why.
    `label_before` (rejections): the label the cell showed before it ('' none), which a
    restore writes back in place of the rejection's `artifact`."""

    provenance = models.ForeignKey(CellProvenance, on_delete=models.PROTECT, related_name="reviews")
    kind = models.CharField(max_length=8, choices=DetectionReviewKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    label_before = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} of detection {self.provenance_id} by {self.user_id}"


class FieldSettings(models.Model):
    """A project's scale for fields: its typical lymphocyte's diameter in field pixels (set by
    its camera and objective). Crops are scaled so it becomes a C-NMC cell's size, and, with
    `stain_normalize`, their colours mapped to C-NMC's from each field's own white cells."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="field_settings"
    )
    cell_diameter = models.FloatField(
        validators=[MinValueValidator(10.0)],
        help_text="Typical lymphocyte diameter in field pixels.",
    )
    stain_normalize = models.BooleanField(
        default=True,
        help_text="Map each field's colours to C-NMC's before its cells are cropped "
        "(docs/benchmarks.md, whole smear fields).",
    )

    class Meta:
        verbose_name_plural = "field settings"

    def __str__(self) -> str:
        return f"fields of project {self.project_id}: cell {self.cell_diameter} px"
