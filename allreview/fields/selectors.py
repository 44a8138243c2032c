"""Reads on fields: which fields a user may open, and a field's cells as that user sees them
(labels as the gallery shows them: own reads when blinded, no model call when it is hidden)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from allreview.cases import selectors as case_selectors
from allreview.cases.models import Case
from allreview.cases.selectors import ReadingView
from allreview.fields.models import CellProvenance, Field
from allreview.projects.permissions import Action
from allreview.projects.selectors import AnyUser, project_ids_for


def field_get_for_user(
    *, user: AnyUser, field_id: int, action: Action = Action.VIEW
) -> Field | None:
    return (
        Field.objects.filter(
            pk=field_id, case__project_id__in=project_ids_for(user=user, action=action)
        )
        .select_related("case__project", "case__model_version")
        .first()
    )


def cell_field_id(*, cell_id: int) -> int | None:
    """The field a cell was cut from (None for an uploaded single cell)."""
    return CellProvenance.objects.filter(cell_id=cell_id).values_list("field_id", flat=True).first()


def case_fields(*, case: Case) -> QuerySet[Field]:
    return Field.objects.filter(case=case).order_by("id")


def field_cells(*, field: Field, user: AnyUser, view: ReadingView) -> list[dict[str, Any]]:
    """One row per cell cut from the field: outline, box, score, edge, origin, rejection, the
    label the user sees and (unless hidden) the model's call."""
    case = field.case
    label = case_selectors.viewer_label(case=case, user=user, view=view)
    cells = (
        case_selectors.case_cells(case=case, label=label, model_hidden=view.model_hidden)
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
