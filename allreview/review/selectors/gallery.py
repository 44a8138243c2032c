"""The case page's cells and counts: each cell with its model's call and a label (the final label,
or the one a viewer sees), grouped and ordered for the gallery."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Case as Case_
from django.db.models import Expression, F, FilteredRelation, Q, QuerySet, Value, When

from allreview.cases.models import Case, Cell, CellClass, LabelValue
from allreview.cases.selectors import shown_cells
from allreview.review.selectors.final import case_final_label

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

GALLERY_ORDERS = ("uncertainty", "probability")


GALLERY_FILTERS = ("all", "unreviewed", "disagree", "unsure", "artifact")


class ReviewedCell(TypedDict):
    probability: float | None
    predicted_label: str | None
    uncertainty: float | None
    label: str | None


# The gallery's cells, annotated. Lookups on the annotations go through Q(): django-stubs types
# `label__isnull` on an annotation as the annotation's own type.
if TYPE_CHECKING:
    ReviewCells = QuerySet[WithAnnotations[Cell, ReviewedCell]]


def case_review_cells(
    *, case: Case, label: Expression | None = None, stand_ins: bool = False
) -> ReviewCells:
    """The case's cells with its model's prediction and a label: the final label by default
    (what sign-off uses), or the label expression a viewer sees (cleared = NULL). Only the
    case's own cells unless `stand_ins` (a reader's page: reader QC's known-answer cells too)."""
    return shown_cells(case=case, stand_ins=stand_ins).annotate(
        prediction=FilteredRelation(
            "predictions", condition=Q(predictions__model_version_id=case.model_version_id)
        ),
        probability=F("prediction__probability"),
        predicted_label=F("prediction__label"),
        uncertainty=F("prediction__uncertainty"),
        label=case_final_label(case=case) if label is None else label,
    )


def _gallery_filter(cells: ReviewCells, show: str) -> ReviewCells:
    if show == "unreviewed":
        return cells.filter(Q(label__isnull=True))
    if show == "disagree":
        return cells.filter(
            Q(label__in=[CellClass.ALL, CellClass.HEM]) & Q(predicted_label__isnull=False)
        ).exclude(label=F("predicted_label"))
    if show in (LabelValue.UNSURE, LabelValue.ARTIFACT):
        return cells.filter(label=show)
    return cells


def case_gallery_cells(
    *,
    case: Case,
    order: str = "uncertainty",
    show: str = "all",
    label: Expression | None = None,
    model_hidden: bool = False,
    stand_ins: bool = False,
) -> list[dict[str, Any]]:
    """Gallery rows: blasts first, then normal cells, then unclassified; within a group the most
    uncertain (or the most probable blast) first. One query, plain values. Blinded to the
    model, the rows come in upload order with no model values: an order would give it away."""
    cells = case_review_cells(case=case, label=label, stand_ins=stand_ins)
    if model_hidden:
        rows = _gallery_filter(cells, "all" if show == "disagree" else show).order_by("id")
        return [
            {**r, "probability": None, "uncertainty": None, "predicted_label": None}
            for r in rows.values("id", "label", "sha256")
        ]
    group = Case_(
        When(predicted_label=CellClass.ALL, then=Value(0)),
        When(predicted_label=CellClass.HEM, then=Value(1)),
        default=Value(2),
    )
    within = "-uncertainty" if order == "uncertainty" else "-probability"
    cells = _gallery_filter(cells, show)
    return list(
        cells.annotate(group=group)
        .order_by("group", F(within[1:]).desc(nulls_last=True), "id")
        .values("id", "probability", "uncertainty", "predicted_label", "label", "sha256")
    )


def case_review_counts(
    *, case: Case, label: Expression | None = None, stand_ins: bool = False
) -> dict[str, int]:
    """Counts for the case summary and sign-off (final labels unless a viewer's label is given).
    The 'call' of a cell is the label where there is one, the model's otherwise. One query of two
    short columns, tallied here: in SQL every FILTER clause would re-run the label subquery."""
    pairs = case_review_cells(case=case, label=label, stand_ins=stand_ins).values_list(
        "predicted_label", "label"
    )
    return tally_review_counts(pairs)


def tally_review_counts(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str, int]:
    counts = dict.fromkeys(REVIEW_COUNT_KEYS, 0)
    for predicted, label in pairs:
        counts["total"] += 1
        counts[f"predicted_{predicted}" if predicted else "unpredicted"] += 1
        counts[f"label_{label}" if label else "unreviewed"] += 1
        call = label or predicted
        if call in (CellClass.ALL, CellClass.HEM):
            counts[f"call_{call}"] += 1
        if label in (CellClass.ALL, CellClass.HEM) and predicted and label != predicted:
            counts["disagree"] += 1
    counts["reviewed"] = counts["total"] - counts["unreviewed"]
    return counts


REVIEW_COUNT_KEYS = (
    "total",
    "predicted_all",
    "predicted_hem",
    "unpredicted",
    *(f"label_{v}" for v in LabelValue.values),
    "reviewed",
    "unreviewed",
    "disagree",
    "call_all",
    "call_hem",
)


def case_current_labels(*, case: Case) -> dict[int, str | None]:
    """cell id -> final label (None when unreviewed or disputed), for the sign-off snapshot."""
    rows = case_review_cells(case=case).order_by("id").values_list("id", "label")
    return dict(rows)
