"""Reader QC: a project's pool of known-answer cells, where they were shown, and what each
reader called them. Kept apart from cases.Label: nothing here is ever part of a case's record."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from allreview.cases.models import CellClass, LabelValue
from allreview.lib.appendonly import AppendOnlyModel

MAX_RATE = 0.2  # more than one cell in five would change how a case reads


class QualitySettings(models.Model):
    """Per project: whether reference cells are mixed into new cases, how many, and the
    accuracy below which a reader is flagged. Set by the project's admins, audited."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="quality_settings"
    )
    enabled = models.BooleanField(default=False)
    rate = models.FloatField(
        default=0.03,
        validators=[MinValueValidator(0.0), MaxValueValidator(MAX_RATE)],
        help_text="Reference cells per own cell of a new case (0.03: about 3 in 100).",
    )
    accuracy_floor = models.FloatField(
        default=0.9,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="A reader whose accuracy on reference cells is below this is flagged.",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"reader QC of project {self.project_id}"


class AnswerSource(models.TextChoices):
    ADJUDICATED = "adjudicated", "Adjudicated"
    AGREED = "agreed", "Two or more readers agreed"


class ReferenceCell(models.Model):
    """A cell of a signed-off case whose final label is known well enough to grade readers by:
    settled by adjudication or by two or more agreeing readers, and chosen by a lead."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.PROTECT, related_name="reference_cells"
    )
    cell = models.ForeignKey("cases.Cell", on_delete=models.PROTECT, related_name="+")
    answer = models.CharField(max_length=8, choices=CellClass.choices)
    source = models.CharField(max_length=12, choices=AnswerSource.choices)
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    chosen_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)  # no longer placed in new cases

    class Meta:
        ordering = ["-chosen_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "cell"], name="reference_cell_unique")
        ]

    def __str__(self) -> str:
        return f"reference cell {self.pk} ({self.answer})"


class ReferencePlacement(AppendOnlyModel):
    """A reference cell shown in a case: `stand_in` is the case's Cell row (is_reference) that
    readers see; its labels are theirs to make like any other cell's."""

    stand_in = models.OneToOneField(
        "cases.Cell", on_delete=models.PROTECT, related_name="reference_placement"
    )
    reference = models.ForeignKey(
        ReferenceCell, on_delete=models.PROTECT, related_name="placements"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"reference {self.reference_id} shown in case {self.case_id}"


class ReferenceLabel(AppendOnlyModel):
    """What one reader called a reference cell, recorded when its case was signed off (their
    newest read then). A reopened and signed-again case records again; the newest counts."""

    placement = models.ForeignKey(
        ReferencePlacement, on_delete=models.PROTECT, related_name="labels"
    )
    sign_off = models.ForeignKey("review.SignOff", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    value = models.CharField(max_length=8, choices=LabelValue.choices)
    answer = models.CharField(max_length=8, choices=CellClass.choices)  # as known then
    read_at = models.DateTimeField()  # when the reader made this call
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["read_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["placement", "sign_off", "user"], name="reference_label_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.value} on reference placement {self.placement_id} by {self.user_id}"
