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

from allreview.cases.models import Case, Cell, CellClass
from allreview.cases.selectors import review_label_subquery
from allreview.projects.permissions import Action
from allreview.projects.selectors import project_ids_for

WORKLIST_SCOPES = ("available", "mine", "unassigned", "all")
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
    predicted = cells.filter(
        predictions__model_version_id=OuterRef("model_version_id"),
        predictions__label=CellClass.ALL,
    )
    reviewed = cells.annotate(label=review_label_subquery()).filter(label__isnull=False)
    cases = cases.select_related("project", "model_version", "assignment__user").annotate(
        n_cells=_count(cells),
        n_predicted_blasts=_count(predicted),
        n_reviewed=_count(reviewed),
        blast_percent=_percent("n_predicted_blasts", "n_cells"),
        reviewed_percent=_percent("n_reviewed", "n_cells"),
    )
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
