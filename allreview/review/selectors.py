"""Reads of the review workspace: the worklist."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, NullIf

from allreview.cases.models import Case, Cell, CellClass, Prediction
from allreview.cases.selectors import review_label_subquery
from allreview.projects.permissions import Action
from allreview.projects.selectors import project_ids_for

WORKLIST_SCOPES = ("available", "mine", "unassigned", "all")
PERCENT_SORTS = {
    "blast": ("n_predicted_blasts", "n_cells"),
    "reviewed": ("n_reviewed", "n_cells"),
}
WORKLIST_SORTS = {
    "uploaded": "created_at",
    "patient": "patient_code",
    "status": "status",
    "cells": "n_cells",
    "blast": "blast_percent",
    "reviewed": "reviewed_percent",
}


def _count(queryset: QuerySet[Any]) -> Coalesce:
    counted = queryset.order_by().values("case_id").annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _percent(part: str, whole: str) -> ExpressionWrapper:
    return ExpressionWrapper(100.0 * F(part) / NullIf(F(whole), 0), output_field=FloatField())


def worklist_for_user(
    *,
    user: Any,
    scope: str = "available",
    status: str = "",
    query: str = "",
    sort: str = "-uploaded",
) -> QuerySet[Case]:
    """Cases of the user's projects with per-case counts as correlated subqueries (one query for
    the page however many cells). `available`: assigned to me or unassigned."""
    cases = Case.objects.filter(project_id__in=project_ids_for(user=user, action=Action.VIEW))
    cases = _scoped(cases, user, scope)
    if status:
        cases = cases.filter(status=status)
    if query:
        cases = cases.filter(Q(patient_code__istartswith=query) | Q(specimen_id__istartswith=query))
    cells = Cell.objects.filter(case_id=OuterRef("pk"))
    # A scalar subquery per cell: always an index probe on (cell, model version); an EXISTS
    # would let the planner hash-join a scan of every prediction for each case.
    model_call = Prediction.objects.filter(
        cell_id=OuterRef("pk"), model_version_id=OuterRef(OuterRef("model_version_id"))
    ).values("label")[:1]
    blasts = cells.annotate(call=Subquery(model_call)).filter(call=CellClass.ALL)
    reviewed = cells.annotate(label=review_label_subquery()).filter(label__isnull=False)
    cases = cases.select_related("project", "model_version", "assignment__user").annotate(
        n_cells=_count(cells),
        n_predicted_blasts=_count(blasts),
        n_reviewed=_count(reviewed),
    )
    key = sort.lstrip("-")
    if key in PERCENT_SORTS:
        # only when sorting by it: the expression repeats the count subqueries it divides
        cases = cases.annotate(**{WORKLIST_SORTS[key]: _percent(*PERCENT_SORTS[key])})
    return cases.order_by(*_ordering(sort))


def _scoped(cases: QuerySet[Case], user: Any, scope: str) -> QuerySet[Case]:
    if scope == "mine":
        return cases.filter(assignment__user=user)
    if scope == "unassigned":
        return cases.filter(assignment__isnull=True)
    if scope == "available":
        return cases.filter(Q(assignment__user=user) | Q(assignment__isnull=True))
    return cases


def _ordering(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    field = WORKLIST_SORTS.get(sort.lstrip("-"), "created_at")
    key = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return [key, "-id"]


def percent(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None
