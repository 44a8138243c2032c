"""Case lists with review progress: the worklist page, and the API's case list."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models import Case as Case_
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import NullIf

from allreview.cases.access import visible_cases
from allreview.cases.models import Case, Cell, CellClass, Prediction
from allreview.cases.selectors import OWN_CELLS, count_per_case
from allreview.lib.users import AnyUser, user_pk
from allreview.review.models import CaseReader
from allreview.review.selectors.labels import own_read_subquery, review_label_subquery

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


def _percent(part: str, whole: str) -> ExpressionWrapper[CombinedExpression]:
    return ExpressionWrapper(100.0 * F(part) / NullIf(F(whole), 0), output_field=FloatField())


def worklist_for_user(
    *,
    user: AnyUser,
    scope: str = "available",
    status: str = "",
    query: str = "",
    sort: str = "-uploaded",
) -> QuerySet[Case]:
    """Cases of the user's projects with per-case counts as correlated subqueries (one query for
    the page however many cells; one more for the readers). `mine`: cases I read;
    `available`: mine or nobody's. Where I am a blinded reader, `n_reviewed` counts my own
    reads and `model_hidden` says whether the model's call is hidden from me."""
    cases = visible_cases(user=user)
    cases = _scoped(cases, user, scope)
    if status:
        cases = cases.filter(status=status)
    if query:
        cases = cases.filter(Q(patient_code__istartswith=query) | Q(specimen_id__istartswith=query))
    cells = Cell.objects.filter(OWN_CELLS, case_id=OuterRef("pk"))
    # A scalar subquery per cell: always an index probe on (cell, model version); an EXISTS
    # would let the planner hash-join a scan of every prediction for each case.
    model_call = Prediction.objects.filter(
        cell_id=OuterRef("pk"), model_version_id=OuterRef(OuterRef("model_version_id"))
    ).values("label")[:1]
    blasts = cells.annotate(call=Subquery(model_call)).filter(call=CellClass.ALL)
    reviewed = cells.annotate(label=review_label_subquery()).filter(label__isnull=False)
    mine = cells.annotate(label=own_read_subquery(user=user)).filter(label__isnull=False)
    blinded = CaseReader.objects.filter(case_id=OuterRef("pk"), user_id=user_pk(user), blinded=True)
    readers = CaseReader.objects.select_related("user").order_by("assigned_at", "id")
    cases = (
        cases.select_related("project", "model_version")
        .prefetch_related(Prefetch("readers", queryset=readers))
        .annotate(blinded=Exists(blinded))
        .annotate(
            n_cells=count_per_case(cells),
            n_predicted_blasts=count_per_case(blasts),
            # a blinded reader's progress is their own: the shared count would leak others' reads
            n_reviewed=Case_(
                When(blinded=True, then=count_per_case(mine)), default=count_per_case(reviewed)
            ),
            model_hidden=Case_(
                When(blinded=True, project__blind_model_call=True, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
    )
    key = sort.lstrip("-")
    if key in PERCENT_SORTS:
        # only when sorting by it: the expression repeats the count subqueries it divides
        cases = cases.annotate(**{WORKLIST_SORTS[key]: _percent(*PERCENT_SORTS[key])})
    return cases.order_by(*_ordering(sort))


def _scoped(cases: QuerySet[Case], user: AnyUser, scope: str) -> QuerySet[Case]:
    read_by_me = Exists(CaseReader.objects.filter(case_id=OuterRef("pk"), user_id=user_pk(user)))
    read_by_anyone = Exists(CaseReader.objects.filter(case_id=OuterRef("pk")))
    if scope == "mine":
        return cases.filter(read_by_me)
    if scope == "unassigned":
        return cases.filter(~read_by_anyone)
    if scope == "available":
        return cases.filter(read_by_me | ~read_by_anyone)
    return cases


def _ordering(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    field = WORKLIST_SORTS.get(sort.lstrip("-"), "created_at")
    key = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return [key, "-id"]


def percent(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def case_list_for_user(*, user: AnyUser) -> QuerySet[Case]:
    cells = Cell.objects.filter(OWN_CELLS, case_id=OuterRef("pk"))
    return (
        visible_cases(user=user)
        .select_related("project", "model_version")
        .annotate(
            n_cells=count_per_case(cells),
            n_predicted_blasts=count_per_case(
                cells.filter(
                    predictions__model_version_id=OuterRef("model_version_id"),
                    predictions__label=CellClass.ALL,
                )
            ),
            n_reviewed=count_per_case(cells.filter(labels__isnull=False), distinct=True),
            viewer_blinded=Exists(
                CaseReader.objects.filter(
                    case_id=OuterRef("pk"), user_id=user_pk(user), blinded=True
                )
            ),
        )
    )
