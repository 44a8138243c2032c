"""Reads on cases. Every query starts from the projects the user is a member of."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Case as Case_
from django.db.models import (
    Count,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf

from allreview.cases.models import Case, Cell, CellClass, Label, LabelValue
from allreview.projects.permissions import Action
from allreview.projects.selectors import project_ids_for


def _count(queryset: QuerySet[Any]) -> Coalesce:
    """A correlated count of distinct cells: one per annotation, so list pages stay one query."""
    counted = (
        queryset.order_by().values("case_id").annotate(n=Count("id", distinct=True)).values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def case_list_for_user(*, user: Any) -> QuerySet[Case]:
    cells = Cell.objects.filter(case_id=OuterRef("pk"))
    return (
        Case.objects.filter(project_id__in=project_ids_for(user=user, action=Action.VIEW))
        .select_related("project", "model_version")
        .annotate(
            n_cells=_count(cells),
            n_predicted_blasts=_count(
                cells.filter(
                    predictions__model_version_id=OuterRef("model_version_id"),
                    predictions__label=CellClass.ALL,
                )
            ),
            n_reviewed=_count(cells.filter(labels__isnull=False)),
        )
    )


def case_get_for_user(*, user: Any, case_id: int, action: Action = Action.VIEW) -> Case | None:
    return (
        Case.objects.filter(pk=case_id, project_id__in=project_ids_for(user=user, action=action))
        .select_related("project", "model_version")
        .first()
    )


def cell_get_for_user(*, user: Any, cell_id: int, action: Action = Action.VIEW) -> Cell | None:
    return (
        Cell.objects.filter(
            pk=cell_id, case__project_id__in=project_ids_for(user=user, action=action)
        )
        .select_related("case")
        .first()
    )


def current_label_subquery() -> Subquery:
    newest = Label.objects.filter(cell_id=OuterRef("pk")).order_by("-id").values("value")[:1]
    return Subquery(newest)


def case_cells(*, case: Case) -> QuerySet[Cell]:
    """Cells with the case model's prediction and the current label, in one query."""
    return (
        Cell.objects.filter(case=case)
        .annotate(
            prediction=FilteredRelation(
                "predictions", condition=Q(predictions__model_version_id=case.model_version_id)
            ),
            probability=F("prediction__probability"),
            predicted_label=F("prediction__label"),
            uncertainty=F("prediction__uncertainty"),
            current_label=current_label_subquery(),
        )
        .order_by("id")
    )


def case_counts(*, case: Case) -> dict[str, int]:
    """Per-class counts: predicted by the case's model, and the reviewers' current labels."""
    cells = case_cells(case=case)
    return cells.aggregate(
        total=Count("id"),
        predicted_all=Count("id", filter=Q(predicted_label=CellClass.ALL)),
        predicted_hem=Count("id", filter=Q(predicted_label=CellClass.HEM)),
        reviewed=Count("id", filter=Q(current_label__isnull=False)),
    )


# --- Review workspace -------------------------------------------------------------------------
# A Label row with the blank value ("cleared", written only by undo) means "unreviewed again":
# these selectors treat it as no label.

GALLERY_ORDERS = ("uncertainty", "probability")
GALLERY_FILTERS = ("all", "unreviewed", "disagree", "unsure", "artifact")


def review_label_subquery() -> NullIf:
    """The cell's current label, or NULL when it has none or its newest row is 'cleared'."""
    return NullIf(current_label_subquery(), Value(""))


def case_review_cells(*, case: Case) -> QuerySet[Cell]:
    """The case's cells with its model's prediction and the reviewed label (cleared = NULL)."""
    return Cell.objects.filter(case=case).annotate(
        prediction=FilteredRelation(
            "predictions", condition=Q(predictions__model_version_id=case.model_version_id)
        ),
        probability=F("prediction__probability"),
        predicted_label=F("prediction__label"),
        uncertainty=F("prediction__uncertainty"),
        label=review_label_subquery(),
    )


def _gallery_filter(cells: QuerySet[Cell], show: str) -> QuerySet[Cell]:
    if show == "unreviewed":
        return cells.filter(label__isnull=True)
    if show == "disagree":
        return cells.filter(
            label__in=[CellClass.ALL, CellClass.HEM], predicted_label__isnull=False
        ).exclude(label=F("predicted_label"))
    if show in (LabelValue.UNSURE, LabelValue.ARTIFACT):
        return cells.filter(label=show)
    return cells


def case_gallery_cells(
    *, case: Case, order: str = "uncertainty", show: str = "all"
) -> list[dict[str, Any]]:
    """Gallery rows: blasts first, then normal cells, then unclassified; within a group the most
    uncertain (or the most probable blast) first. One query, plain values."""
    group = Case_(
        When(predicted_label=CellClass.ALL, then=Value(0)),
        When(predicted_label=CellClass.HEM, then=Value(1)),
        default=Value(2),
    )
    within = "-uncertainty" if order == "uncertainty" else "-probability"
    cells = _gallery_filter(case_review_cells(case=case), show)
    return list(
        cells.annotate(group=group)
        .order_by("group", F(within[1:]).desc(nulls_last=True), "id")
        .values("id", "probability", "uncertainty", "predicted_label", "label")
    )


def case_review_counts(*, case: Case) -> dict[str, int]:
    """Counts for the case summary and sign-off. The 'call' of a cell is the reviewer's label
    where there is one, the model's otherwise. One query of two short columns, tallied here:
    in SQL every FILTER clause would re-run the newest-label subquery for each cell."""
    pairs = case_review_cells(case=case).values_list("predicted_label", "label")
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
    """cell id -> reviewed label (None when unreviewed), for the sign-off snapshot."""
    rows = case_review_cells(case=case).order_by("id").values_list("id", "label")
    return dict(rows)


def cells_current_labels(*, cell_ids: list[int]) -> dict[int, str | None]:
    """cell id -> newest label row value ('' when cleared), for cells with any label row."""
    rows = (
        Label.objects.filter(cell_id__in=cell_ids)
        .order_by("cell_id", "-id")
        .distinct("cell_id")
        .values_list("cell_id", "value")
    )
    return dict(rows)


def cell_label_history(*, cell: Cell, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first: value ('' when cleared by an undo), who, when."""
    return list(
        Label.objects.filter(cell=cell)
        .order_by("-id")
        .values("value", "created_at", username=F("user__username"))[:limit]
    )


def final_label_subquery() -> Subquery:
    """A cell's final label: what sign-off, exports and retraining use. With one reader it is
    the newest label (a blank 'cleared' row counts as none)."""
    return review_label_subquery()
