"""Reads on cases. Every query starts from the projects the user is a member of."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Count,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from allreview.cases.models import Case, Cell, CellClass, Label
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
