"""Reads on fields: which fields a user may open, and a field's cells as that user sees them
(labels as the gallery shows them: own reads when blinded, no model call when it is hidden)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from allreview.cases.models import Case, Cell
from allreview.fields.models import CellProvenance, Field
from allreview.lib.users import AnyUser
from allreview.review.selectors.reading import ReadingView, case_cells, viewer_label


def cell_field_id(*, cell_id: int) -> int | None:
    """The field a cell was cut from (None for an uploaded single cell)."""
    return CellProvenance.objects.filter(cell_id=cell_id).values_list("field_id", flat=True).first()


def case_fields(*, case: Case) -> QuerySet[Field]:
    return Field.objects.filter(case=case).order_by("id")


# What the review pages show of fields, through `review.hooks` (registered in FieldsConfig).


def case_page_fields(case: Case) -> dict[str, object]:
    """The case page lists the case's fields (one query)."""
    return {"fields": list(case_fields(case=case))}


def cell_panel_field(cell: Cell) -> dict[str, object]:
    """The cell panel links a cell cut from a field back to it (one query)."""
    return {"field": cell_field_id(cell_id=cell.pk)}


def field_cells(*, field: Field, user: AnyUser, view: ReadingView) -> list[dict[str, Any]]:
    """One row per cell cut from the field: outline, box, score, edge, origin, rejection, the
    label the user sees and (unless hidden) the model's call."""
    case = field.case
    label = viewer_label(case=case, user=user, view=view)
    cells = (
        case_cells(case=case, label=label, model_hidden=view.model_hidden)
        .filter(provenance__field=field)
        .values(
            "id",
            "current_label",
            "predicted_label",
            "probability",
            "provenance__polygon",
            "provenance__x0",
            "provenance__y0",
            "provenance__x1",
            "provenance__y1",
            "provenance__score",
            "provenance__edge",
            "provenance__origin",
            "provenance__rejected_at",
        )
    )
    return [
        {
            "id": c["id"],
            "label": c["current_label"] or None,
            "model": c["predicted_label"],
            "probability": None if c["probability"] is None else round(c["probability"], 3),
            "polygon": c["provenance__polygon"],
            "box": [
                c["provenance__x0"],
                c["provenance__y0"],
                c["provenance__x1"],
                c["provenance__y1"],
            ],
            "score": round(c["provenance__score"], 3),
            "edge": c["provenance__edge"],
            "origin": c["provenance__origin"],
            "rejected": c["provenance__rejected_at"] is not None,
        }
        for c in cells
    ]
