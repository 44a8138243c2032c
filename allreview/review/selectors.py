"""Reads of the review workspace: the worklist and the adjudication queue."""

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
from django.db.models.functions import NullIf

from allreview.cases.models import Case, CaseStatus, Cell, CellClass, Label, Prediction
from allreview.cases.selectors import (
    OWN_CELLS,
    blinded_open_case_ids,
    count_per_case,
    own_read_subquery,
    review_label_subquery,
    unadjudicated_disputed_filter,
)
from allreview.projects.permissions import Action
from allreview.projects.selectors import project_ids_for
from allreview.review.models import CaseReader

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
    the page however many cells; one more for the readers). `mine`: cases I read;
    `available`: mine or nobody's. Where I am a blinded reader, `n_reviewed` counts my own
    reads and `model_hidden` says whether the model's call is hidden from me."""
    cases = Case.objects.filter(project_id__in=project_ids_for(user=user, action=Action.VIEW))
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
    blinded = CaseReader.objects.filter(case_id=OuterRef("pk"), user_id=user.pk, blinded=True)
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


def _scoped(cases: QuerySet[Case], user: Any, scope: str) -> QuerySet[Case]:
    read_by_me = Exists(CaseReader.objects.filter(case_id=OuterRef("pk"), user_id=user.pk))
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


def adjudication_queue(*, project: Any, user: Any) -> QuerySet[Cell]:
    """Cells of the project's open cases whose readers disagree and no adjudicator has settled,
    with the model's call and the id of the newest label (the version a decision is made on).
    Cases the user reads blinded are left out: the queue shows every reader's read."""
    model_call = Prediction.objects.filter(
        cell_id=OuterRef("pk"), model_version_id=OuterRef("case__model_version_id")
    )
    newest = Label.objects.filter(cell_id=OuterRef("pk")).order_by("-id").values("id")[:1]
    return (
        Cell.objects.filter(OWN_CELLS, case__project=project)
        .exclude(case__status=CaseStatus.SIGNED_OFF)
        .exclude(case_id__in=blinded_open_case_ids(user=user))
        .filter(unadjudicated_disputed_filter())
        .select_related("case")
        .annotate(
            model_label=Subquery(model_call.values("label")[:1]),
            model_probability=Subquery(model_call.values("probability")[:1]),
            newest_label=Subquery(newest),
        )
        .order_by("case_id", "id")
    )
