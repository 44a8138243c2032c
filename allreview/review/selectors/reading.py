"""How one user sees a case: the reading view. Blinding is decided here and nowhere else: whose
labels the user sees, whether the model's call and the imported truth are shown, and whether they
may label. Pages, JSON, exports, agreement, audit and the API all ask this module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import (
    Count,
    Exists,
    Expression,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from allreview.audit.models import AuditEvent
from allreview.audit.selectors import audit_events
from allreview.cases.models import Case, CaseStatus, Cell, Label, LabelKind
from allreview.cases.selectors import shown_cells
from allreview.lib.users import AnyUser, user_pk
from allreview.projects.permissions import Action, role_allows
from allreview.projects.selectors import (
    membership_role,
    membership_role_subquery,
    project_ids_for,
)
from allreview.review.models import CaseReader
from allreview.review.selectors.final import case_final_label
from allreview.review.selectors.labels import (
    current_label_subquery,
    own_read_subquery,
    review_label_subquery,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class SeenCell(TypedDict):
    probability: float | None
    predicted_label: str | None
    uncertainty: float | None
    current_label: str | None


class CaseIdRow(TypedDict):
    case_id: int


def case_cells(
    *,
    case: Case,
    label: Expression | None = None,
    model_hidden: bool = False,
    stand_ins: bool = False,
) -> QuerySet[WithAnnotations[Cell, SeenCell]]:
    """Cells with the case model's prediction and the current label, in one query. A viewer's
    label expression replaces the newest label; `model_hidden` blanks the model's values;
    `stand_ins` adds reader QC's known-answer cells (ReadingView.stand_ins)."""
    model_version_id = None if model_hidden else case.model_version_id
    return (
        shown_cells(case=case, stand_ins=stand_ins)
        .annotate(
            prediction=FilteredRelation(
                "predictions", condition=Q(predictions__model_version_id=model_version_id)
            ),
            probability=F("prediction__probability"),
            predicted_label=F("prediction__label"),
            uncertainty=F("prediction__uncertainty"),
            current_label=current_label_subquery() if label is None else label,
        )
        .order_by("id")
    )


@dataclass(frozen=True)
class ReadingView:
    """How one user sees a case: whose labels, whether the model's call and the imported truth
    are shown, and whether they may label it. The one rule pages, JSON and the API all ask."""

    double_read: bool
    reader: bool  # the user is one of the case's assigned readers
    blinded: bool
    model_hidden: bool
    taken: bool = False  # someone reads the case (one or more readers)
    lead: bool = False  # the user is an adjudicator or admin of the project
    # Reader QC: the open case has known-answer cells and the user may label it, so they are
    # shown among its cells (and file names, which would tell them apart, are not).
    stand_ins: bool = False

    @property
    def own_reads(self) -> bool:
        """Their labels are their own reads, not the case's shared newest label."""
        return self.reader and (self.double_read or self.blinded)

    @property
    def truth_hidden(self) -> bool:
        """The imported ground truth would unblind a blinded read."""
        return self.blinded

    @property
    def may_label(self) -> bool:
        """A taken case is labelled by its readers; a lead may step in on a single-read case
        (audited as such), while a double-read case is settled by adjudication instead."""
        if self.reader or not self.taken:
            return True
        return self.lead and not self.double_read

    @property
    def lead_override(self) -> bool:
        """A lead labelling or signing a case someone else reads: audited as such."""
        return self.taken and not self.reader


ASK = "?"  # reading_view's role not known yet: one more query finds it


def reading_view(*, case: Case, user: AnyUser, role: str | None = ASK) -> ReadingView:
    """The user's view of the case; pass `role` when the caller has already asked for it."""
    readers = dict(CaseReader.objects.filter(case=case).values_list("user_id", "blinded"))
    if role == ASK:
        role = membership_role(user=user, project_id=case.project_id)
    return _view_of(
        case,
        role,
        n_readers=len(readers),
        my_blinded=readers.get(user_pk(user)) if user.is_authenticated else None,
        has_stand_ins=lambda: Cell.objects.filter(case=case, is_reference=True).exists(),
    )


def reading_facts(*, user: AnyUser, case: str = "pk", role_of: str = "") -> dict[str, Any]:
    """What `reading_view` asks the database, as annotations a lookup carries (a case, or a
    cell with `case="case_id"`): then `reading_view_of` builds the view with no query. With
    `role_of` (the row's path to its project id) the user's role comes along too."""
    readers = CaseReader.objects.filter(case_id=OuterRef(case))
    role = {"member_role": membership_role_subquery(user=user, project=role_of)} if role_of else {}
    mine = readers.filter(user_id=user_pk(user)) if user.is_authenticated else readers.none()
    return {
        "rv_readers": Subquery(
            readers.order_by().values("case_id").annotate(n=Count("*")).values("n")[:1]
        ),
        "rv_my_blinded": Subquery(mine.order_by("id").values("blinded")[:1]),
        "rv_stand_ins": Exists(Cell.objects.filter(case_id=OuterRef(case), is_reference=True)),
        **role,
    }


def reading_view_of(*, case: Case, role: str | None, facts: object = None) -> ReadingView:
    """The reading view of a case read with `reading_facts`' annotations (on the case itself,
    or on `facts`, the row that carried them)."""
    # no defaults: a lookup without the annotations must fail, never read as "no readers"
    row: Any = case if facts is None else facts
    return _view_of(
        case,
        role,
        n_readers=row.rv_readers or 0,
        my_blinded=row.rv_my_blinded,
        has_stand_ins=lambda: bool(row.rv_stand_ins),
    )


def _view_of(
    case: Case,
    role: str | None,
    *,
    n_readers: int,
    my_blinded: bool | None,  # None: the user is not one of the case's readers
    has_stand_ins: Callable[[], bool],
) -> ReadingView:
    blinded = bool(my_blinded)
    view = ReadingView(
        double_read=n_readers >= 2,
        reader=my_blinded is not None,
        blinded=blinded,
        model_hidden=blinded and case.project.blind_model_call,
        taken=n_readers > 0,
        lead=role_allows(role, Action.ADJUDICATE),
    )
    if _shows_stand_ins(case, role, view, has_stand_ins):
        view = replace(view, stand_ins=True)
    return view


def _shows_stand_ins(
    case: Case, role: str | None, view: ReadingView, has_stand_ins: Callable[[], bool]
) -> bool:
    """Known-answer cells are shown to whoever may label the open case, never after sign-off."""
    if case.status == CaseStatus.SIGNED_OFF or not role_allows(role, Action.LABEL):
        return False
    return view.may_label and has_stand_ins()


def stand_ins_shown_case_ids(*, user: AnyUser) -> QuerySet[Case, dict[str, Any]]:
    """The cases whose known-answer cells the user is shown (`_shows_stand_ins` for many cases at
    once, as a subquery): open cases of projects where they may label, which they read, nobody
    reads, or, as a lead, a single reader reads. Lists that span cases (predictions, cell
    details) hide the others' known-answer cells, which would tell them apart."""
    readers = CaseReader.objects.filter(case_id=OuterRef("pk"))
    return (
        Case.objects.filter(project_id__in=project_ids_for(user=user, action=Action.LABEL))
        .exclude(status=CaseStatus.SIGNED_OFF)
        .annotate(n_readers=Count("readers"), reads=Exists(readers.filter(user_id=user_pk(user))))
        .filter(
            Q(reads=True)
            | Q(n_readers=0)
            | Q(
                n_readers=1,
                project_id__in=project_ids_for(user=user, action=Action.ADJUDICATE),
            )
        )
        .values("pk")
    )


def stand_ins_hidden(*, user: AnyUser, prefix: str = "") -> Q:
    """A filter to `exclude` the known-answer cells (or rows of them, through `prefix`, e.g.
    "cell__") not shown to the user."""
    return Q(**{f"{prefix}is_reference": True}) & ~Q(
        **{f"{prefix}case_id__in": stand_ins_shown_case_ids(user=user)}
    )


def viewer_label(*, case: Case, user: AnyUser, view: ReadingView) -> Expression:
    """The label a user sees on the case's cells: their own reads as a reader of a double-read
    case or when blinded; the final label for others on a double-read case; else the newest."""
    if view.own_reads:
        return own_read_subquery(user=user)
    if view.double_read:
        return case_final_label(case=case)
    return review_label_subquery()


def visible_label_history(*, cell: Cell, user: AnyUser, view: ReadingView) -> QuerySet[Label]:
    """The label rows of a cell the user may see: a blinded reader only their own reads."""
    rows = Label.objects.filter(cell=cell)
    if view.blinded:
        rows = rows.filter(user=user, kind=LabelKind.READ)
    return rows


def cell_label_history(
    *, cell: Cell, user: AnyUser, view: ReadingView, limit: int = 50
) -> list[dict[str, Any]]:
    """Newest first, the rows the reading view lets the user see: value ('' when cleared by an
    undo), kind, who, when."""
    rows = visible_label_history(cell=cell, user=user, view=view)
    history = rows.order_by("-id").values(
        "id", "value", "kind", "created_at", username=F("user__username")
    )
    return [dict(row) for row in history[:limit]]


def blinded_open_case_ids(*, user: AnyUser) -> QuerySet[CaseReader, CaseIdRow]:
    """Cases the user reads blinded and that are not signed off: there the user must not see
    other reads anywhere (queue, exports, audit), even as a lead. A subquery, not a list."""
    return (
        CaseReader.objects.filter(user_id=user_pk(user), blinded=True)
        .exclude(case__status=CaseStatus.SIGNED_OFF)
        .values("case_id")
    )


def model_hidden_case_ids(*, user: AnyUser) -> QuerySet[CaseReader, CaseIdRow]:
    """Cases whose model calls are hidden from the user (ReadingView.model_hidden, for many
    cases at once): they read it blinded and the project hides the model from blinded reads."""
    return CaseReader.objects.filter(
        user_id=user_pk(user), blinded=True, case__project__blind_model_call=True
    ).values("case_id")


def cells_as_seen(*, case: Case, user: AnyUser, cell_ids: list[int]) -> dict[str, Any]:
    """The current state of some cells as the user would see them on a fresh page: the label,
    and the model's call of the case's current model version (unless hidden from them). What a
    409 answers so the page can show what is there now."""
    view = reading_view(case=case, user=user)
    label = viewer_label(case=case, user=user, view=view)
    rows = (
        case_cells(case=case, label=label, model_hidden=view.model_hidden, stand_ins=view.stand_ins)
        .filter(pk__in=cell_ids)
        .values("id", "current_label", "predicted_label", "probability", "uncertainty")
    )
    return {
        "model_version": None if view.model_hidden else case.model_version_id,
        "cells": [
            {
                "cell": r["id"],
                "label": r["current_label"] or None,
                "predicted_label": r["predicted_label"],
                "probability": r["probability"],
                "uncertainty": r["uncertainty"],
            }
            for r in rows
        ],
    }


def audit_events_as_seen(
    *, user: AnyUser, project_id: int, case_id: int | None = None
) -> QuerySet[AuditEvent]:
    """A project's (or a case's) audit events as the user may see them: of a case they read
    blinded, only their own events while it is open (the others' would show the other reads)."""
    hidden = Q(case_id__in=blinded_open_case_ids(user=user)) & ~Q(actor_id=user_pk(user))
    return audit_events(project_id=project_id, case_id=case_id).exclude(hidden)
