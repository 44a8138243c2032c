"""Export rows: every cell with each model version's prediction, each reader's label and the
final label, read in chunks so a project of any size streams in constant memory."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F

from allreview.cases.models import Cell, Label, LabelKind, Prediction
from allreview.lib.users import AnyUser
from allreview.projects.models import Project
from allreview.review.selectors.final import signed_label_subquery, signed_sign_off_subquery
from allreview.review.selectors.reading import blinded_open_case_ids

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
    final_label: str | None  # as signed: None while the case is not signed off
    sign_off: int | None
    predictions: dict[str, dict[str, float | str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, Any] | None = None  # issue 14: the field it was cut from


def export_columns(*, project: Project) -> tuple[list[str], list[str]]:
    """The model versions and readers that appear in the project, in a stable order."""
    models = (
        Prediction.objects.filter(cell__case__project=project, cell__is_reference=False)
        .values_list("model_version__name", flat=True)
        .distinct()
        .order_by("model_version__name")
    )
    readers = (
        Label.objects.filter(
            cell__case__project=project, cell__is_reference=False, kind=LabelKind.READ
        )
        .values_list("user__username", flat=True)
        .distinct()
        .order_by("user__username")
    )
    return list(models), list(readers)


def export_cells(
    *, project: Project, final_only: bool = False, viewer: AnyUser | None = None
) -> Iterator[ExportCell]:
    """Every cell of the project; the final label is the one its case's sign-off recorded
    (none while the case is open). With a viewer who reads a case blinded, that case's cells
    carry only the viewer's own reads and no imported truth until it is signed off."""
    cells = (
        Cell.objects.filter(case__project=project, is_reference=False)  # never reader QC's
        .annotate(
            patient_code=F("case__patient_code"),
            specimen_id=F("case__specimen_id"),
            final_label=signed_label_subquery(),
            sign_off=signed_sign_off_subquery(),
        )
        .order_by("id")
    )
    hidden: set[int] = set()
    if viewer is not None:
        hidden = set(
            blinded_open_case_ids(user=viewer)
            .filter(case__project=project)
            .values_list("case_id", flat=True)
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
        "sign_off",
        *PROVENANCE_FIELDS,
    )
    last_id = 0
    while True:
        rows = list(cells.filter(pk__gt=last_id).values_list(*fields)[:CHUNK])
        if not rows:
            return
        chunk = [_export_cell(row) for row in rows]
        _attach(chunk)
        if hidden and viewer is not None:
            _blind(chunk, hidden, viewer.get_username())
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


def _export_cell(row: tuple[Any, ...]) -> ExportCell:
    """A row of the cells' query: the cell's own ten columns, then its provenance's."""
    cell = ExportCell(*row[:10])
    cell.provenance = _provenance(row[10:])
    return cell


# Issue 14: for a cell cut from a smear field, the field, box, mask and detection (joined into the
# cells' own query), so a lab can rebuild the crop from the field.
PROVENANCE_FIELDS = (
    "provenance__field_id",
    "provenance__field__original_name",
    "provenance__field__sha256",
    "provenance__x0",
    "provenance__y0",
    "provenance__x1",
    "provenance__y1",
    "provenance__mask",
    "provenance__score",
    "provenance__edge",
    "provenance__origin",
    "provenance__rejected_at",
)


def _provenance(values: tuple[Any, ...]) -> dict[str, Any] | None:
    field_id, name, sha256, x0, y0, x1, y1, mask, score, edge, origin, rejected_at = values
    if field_id is None:
        return None
    return {
        "field_id": field_id,
        "field_name": name,
        "field_sha256": sha256,
        "box": [x0, y0, x1, y1],
        "mask_rle": mask,
        "score": score,
        "edge": edge,
        "origin": origin,
        "rejected": rejected_at is not None,
    }


def _blind(chunk: list[ExportCell], hidden: set[int], own: str) -> None:
    for cell in chunk:
        if cell.case_id in hidden:
            cell.truth = ""
            cell.labels = {r: v for r, v in cell.labels.items() if r == own}


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
        "sign_off": cell.sign_off,
        "provenance": cell.provenance,
    }
