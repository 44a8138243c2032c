"""Export rows: every cell with each model version's prediction, each reader's label and the
final label, read in chunks so a project of any size streams in constant memory."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F

from allreview.cases.models import Cell, Label, LabelKind, Prediction
from allreview.cases.selectors import final_label_subquery
from allreview.projects.models import Project

CHUNK = 2000


@dataclass
class ExportCell:
    cell_id: int
    case_id: int
    patient_code: str
    specimen_id: str
    original_name: str
    sha256: str
    image: str
    truth: str
    final_label: str | None
    predictions: dict[str, dict[str, float | str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def export_columns(*, project: Project) -> tuple[list[str], list[str]]:
    """The model versions and readers that appear in the project, in a stable order."""
    models = (
        Prediction.objects.filter(cell__case__project=project)
        .values_list("model_version__name", flat=True)
        .distinct()
        .order_by("model_version__name")
    )
    readers = (
        Label.objects.filter(cell__case__project=project, kind=LabelKind.READ)
        .values_list("user__username", flat=True)
        .distinct()
        .order_by("user__username")
    )
    return list(models), list(readers)


def export_cells(*, project: Project, final_only: bool = False) -> Iterator[ExportCell]:
    cells = (
        Cell.objects.filter(case__project=project)
        .annotate(
            patient_code=F("case__patient_code"),
            specimen_id=F("case__specimen_id"),
            final_label=final_label_subquery(),
        )
        .order_by("id")
    )
    if final_only:
        cells = cells.filter(final_label__in=["all", "hem"])
    fields = (
        "pk",
        "case_id",
        "patient_code",
        "specimen_id",
        "original_name",
        "sha256",
        "image",
        "truth",
        "final_label",
    )
    last_id = 0
    while True:
        rows = list(cells.filter(pk__gt=last_id).values_list(*fields)[:CHUNK])
        if not rows:
            return
        chunk = [ExportCell(*row) for row in rows]
        _attach(chunk)
        yield from chunk
        last_id = rows[-1][0]


def _attach(chunk: list[ExportCell]) -> None:
    """Two queries per chunk: predictions of every version, and each reader's newest read
    (adjudications are not reads: they show in the final label)."""
    by_id = {c.cell_id: c for c in chunk}
    predictions = Prediction.objects.filter(cell_id__in=by_id).values_list(
        "cell_id", "model_version__name", "probability", "label", "uncertainty"
    )
    for cell_id, model, probability, label, uncertainty in predictions:
        by_id[cell_id].predictions[model] = {
            "probability": probability,
            "label": label,
            "uncertainty": uncertainty,
        }
    newest: dict[tuple[int, str], str] = {}
    labels = (
        Label.objects.filter(cell_id__in=by_id, kind=LabelKind.READ)
        .order_by("id")
        .values_list("cell_id", "user__username", "value")
    )
    for cell_id, reader, value in labels:
        newest[(cell_id, reader)] = value  # ascending ids: the last one wins
    readers: dict[int, dict[str, str]] = defaultdict(dict)
    for (cell_id, reader), value in newest.items():
        readers[cell_id][reader] = value
    for cell_id, values in readers.items():
        by_id[cell_id].labels = values


def as_dict(cell: ExportCell) -> dict[str, Any]:
    return {
        "cell_id": cell.cell_id,
        "case_id": cell.case_id,
        "patient_code": cell.patient_code,
        "specimen_id": cell.specimen_id,
        "original_name": cell.original_name,
        "sha256": cell.sha256,
        "imported_truth": cell.truth or None,
        "predictions": cell.predictions,
        "labels": cell.labels,
        "final_label": cell.final_label or None,
    }
