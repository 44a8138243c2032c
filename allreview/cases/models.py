from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from allreview.lib.appendonly import AppendOnlyModel

pseudonym_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
    "Use a pseudonymous code of letters, digits, '.', '_' or '-' (at most 64), never a name.",
)


class CaseStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    QUEUED = "queued", "Queued"
    CLASSIFYING = "classifying", "Classifying"
    READY = "ready", "Ready for review"
    IN_REVIEW = "in_review", "In review"
    SIGNED_OFF = "signed_off", "Signed off"
    FAILED = "failed", "Failed"


class CellClass(models.TextChoices):
    ALL = "all", "Blast (ALL)"
    HEM = "hem", "Normal (HEM)"


class LabelValue(models.TextChoices):
    ALL = "all", "Blast (ALL)"
    HEM = "hem", "Normal (HEM)"
    UNSURE = "unsure", "Unsure"
    ARTIFACT = "artifact", "Artifact"


class Case(models.Model):
    """One patient image set."""

    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="cases")
    patient_code = models.CharField(max_length=64, validators=[pseudonym_validator])
    specimen_id = models.CharField(max_length=64, blank=True, validators=[pseudonym_validator])
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=CaseStatus.choices, default=CaseStatus.UPLOADED, db_index=True
    )
    status_detail = models.TextField(blank=True)
    model_version = models.ForeignKey(
        "mlmodels.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Renewed by the classifying worker every CLASSIFY_HEARTBEAT_SECONDS; a claim whose lease
    # (CLASSIFY_CLAIM_LEASE_SECONDS) ran out without a beat lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    classified_at = models.DateTimeField(null=True, blank=True)
    # Every thumbnail of the case in one file (lib/thumbpack.py), named by its sha256; written
    # at upload. Empty for cases from before it: the gallery then fetches thumbnails one by one.
    thumbnail_pack = models.FileField(upload_to="cells/", max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "status"])]

    def __str__(self) -> str:
        return f"Case {self.pk} ({self.patient_code})"

    @property
    def progress_percent(self) -> int:
        return round(100 * self.progress_done / self.progress_total) if self.progress_total else 0

    @property
    def claim_lapsed(self) -> bool:
        """Classifying, but its worker stopped beating: it may be claimed (or retried) again."""
        if self.status != CaseStatus.CLASSIFYING:
            return False
        last = self.heartbeat_at or self.claimed_at
        return last is None or last < lease_cutoff()


def lease_cutoff(now: datetime | None = None) -> datetime:
    """A claim last confirmed before this moment has lost its worker."""
    lease = timedelta(seconds=settings.CLASSIFY_CLAIM_LEASE_SECONDS)
    return (now or timezone.now()) - lease


def lapsed_claim(now: datetime | None = None) -> Q:
    """Cases classifying under a claim whose lease ran out (rows from before heartbeats count
    from their claim)."""
    cutoff = lease_cutoff(now)
    return Q(status=CaseStatus.CLASSIFYING) & (
        Q(heartbeat_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, claimed_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, claimed_at__isnull=True)
    )


def cell_image_path(cell: Cell, filename: str) -> str:
    # Content-addressed within the case; the original file name stays in the row, not on disk.
    return f"cells/{cell.case.project_id}/{cell.case_id}/{filename}"


class Cell(models.Model):
    """One single-cell image in a case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="cells")
    image = models.FileField(upload_to=cell_image_path, max_length=300)
    thumbnail = models.FileField(upload_to=cell_image_path, max_length=300)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    image_format = models.CharField(max_length=8)
    original_name = models.CharField(max_length=255)
    truth = models.CharField(max_length=8, choices=CellClass.choices, blank=True)
    # Reader QC (allreview.quality): a known-answer cell of another patient placed among this
    # case's cells at upload. Readers see it like any other cell; it is never part of the case
    # (summary figures, sign-off record, exports, agreement, adjudication, retraining).
    is_reference = models.BooleanField(default=False)
    # The model-ready input written at upload: the centre crop at a profile's input size
    # (lossless PNG), and that geometry ("crop/frame@size", classifier.crops.geometry_key).
    # Inference reads it instead of decoding the original when its model has that geometry.
    model_input = models.FileField(upload_to=cell_image_path, max_length=300, blank=True)
    model_input_geometry = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "sha256"], name="cell_unique_image_in_case")
        ]

    def __str__(self) -> str:
        return f"Cell {self.pk} of case {self.case_id}"


class Prediction(models.Model):
    cell = models.ForeignKey(Cell, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(
        "mlmodels.ModelVersion", on_delete=models.PROTECT, related_name="predictions"
    )
    probability = models.FloatField(help_text="Calibrated probability that the cell is a blast.")
    label = models.CharField(max_length=8, choices=CellClass.choices)
    uncertainty = models.FloatField(help_text="Spread of the blast probability over rotations.")
    saliency = models.FileField(upload_to="saliency/", blank=True, max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cell", "model_version"], name="prediction_unique_per_model"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.probability:.2f} for cell {self.cell_id}"


class LabelKind(models.TextChoices):
    READ = "read", "Read"
    ADJUDICATION = "adjudication", "Adjudication"


class Label(AppendOnlyModel):
    """A reviewer's call on a cell. The cell's current label is the newest row, never an update.
    An adjudication (an adjudicator settling readers who disagree) is marked by its kind.

    The row sits beside the cell it labels; every rule about it (writes and undo in
    `review.services.labels`, reading, blinding and the final label in `review.selectors`) is
    review's, and nothing in this app reads or writes it."""

    cell = models.ForeignKey(Cell, on_delete=models.PROTECT, related_name="labels")
    value = models.CharField(max_length=8, choices=LabelValue.choices)
    kind = models.CharField(max_length=12, choices=LabelKind.choices, default=LabelKind.READ)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["cell", "-id"], name="label_cell_newest")]

    def __str__(self) -> str:
        return f"{self.value} on cell {self.cell_id} by {self.user_id}"
