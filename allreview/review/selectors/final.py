"""A cell's final label, the one rule that sign-off, exports, agreement and retraining use, and
the signed record they read once a case is signed off.

A case with two or more assigned readers (CaseReader rows) is double-read: each reader's newest
read counts separately, and where their reads differ the cell is disputed until an
adjudicator's call (a Label of kind 'adjudication') settles it. A case with one reader or none
keeps the single-read rule: the newest label is the cell's label."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Case as Case_
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf
from django.db.models.lookups import Exact, GreaterThanOrEqual

from allreview.cases.models import Case, CaseStatus, Cell, Label, LabelKind
from allreview.cases.selectors import OWN_CELLS
from allreview.review.models import CaseReader, SignedCell
from allreview.review.selectors.labels import review_label_subquery

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


def adjudication_subquery() -> NullIf:
    newest = (
        Label.objects.filter(cell_id=OuterRef("pk"), kind=LabelKind.ADJUDICATION)
        .order_by("-id")
        .values("value")[:1]
    )
    return NullIf(Subquery(newest), Value(""))


def _current_reads() -> QuerySet[Label]:
    """For a subquery on cells: each assigned reader's newest read of the cell, cleared dropped."""
    newer = Label.objects.filter(
        cell_id=OuterRef("cell_id"),
        user_id=OuterRef("user_id"),
        kind=LabelKind.READ,
        id__gt=OuterRef("id"),
    )
    return (
        Label.objects.filter(
            cell_id=OuterRef("pk"),
            kind=LabelKind.READ,
            user__case_reads__case_id=OuterRef("case_id"),
        )
        .exclude(Exists(newer))
        .exclude(value="")
        .order_by()
    )


class ReadsTally(TypedDict):
    n_values: int  # distinct values among the readers' newest reads
    n_read: int  # readers who have read the cell
    agreed: str  # their value when there is one


def _reads_tally() -> QuerySet[WithAnnotations[Label, ReadsTally], dict[str, Any]]:
    return (
        _current_reads()
        .values("cell_id")
        .annotate(
            n_values=Count("value", distinct=True),
            n_read=Count("user_id", distinct=True),
            agreed=Min("value"),
        )
    )


def _readers_count(case_ref: Any) -> Coalesce:
    counted = (
        CaseReader.objects.filter(case_id=case_ref)
        .order_by()
        .values("case_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def agreed_read_subquery() -> Case_:
    """The value every assigned reader's newest read agrees on, once all of them have read.
    The reader count is compared out here, not inside the tally: SQLite refuses a grouped
    subquery whose HAVING refers two levels out."""
    tally = _reads_tally()
    agreed = Subquery(tally.filter(n_values=1).values("agreed")[:1])
    n_read = Coalesce(Subquery(tally.values("n_read")[:1], output_field=IntegerField()), 0)
    everyone = _readers_count(OuterRef("case_id"))
    return Case_(When(Exact(n_read, everyone), then=agreed), default=Value(None))


def disputed_filter() -> Exists:
    """Cells whose assigned readers' newest reads differ (so the case is double-read)."""
    return Exists(_reads_tally().filter(n_values__gt=1))


def unadjudicated_disputed_filter() -> Q:
    """What goes to the adjudication queue: disputed, and no adjudication yet."""
    adjudicated = Label.objects.filter(cell_id=OuterRef("pk"), kind=LabelKind.ADJUDICATION)
    return Q(disputed_filter()) & ~Q(Exists(adjudicated.exclude(value="")))


def case_final_label(*, case: Case) -> Coalesce:
    """The final label of a known case's cells: the single-read or double-read rule picked here
    in Python, so each cell runs only the subqueries its case needs."""
    double = CaseReader.objects.filter(case=case).count() >= 2
    fallback = agreed_read_subquery() if double else review_label_subquery()
    return Coalesce(adjudication_subquery(), fallback)


def final_label_subquery() -> Coalesce:
    """A cell's final label: what sign-off, exports and retraining use. The newest adjudication
    if any; else, in a double-read case, the value all its readers' newest reads agree on (none
    while one has not read or they disagree); else the newest label (a blank 'cleared' row
    counts as none)."""
    double: GreaterThanOrEqual[int] = GreaterThanOrEqual(_readers_count(OuterRef("case_id")), 2)
    by_reads = Case_(When(double, then=agreed_read_subquery()), default=review_label_subquery())
    return Coalesce(adjudication_subquery(), by_reads)


def signed_cells() -> QuerySet[SignedCell]:
    """For a subquery on cells: the cell's row in its case's newest sign-off. A cell belongs to
    one case, so its newest SignedCell row is from the newest sign-off of that case."""
    return SignedCell.objects.filter(cell_id=OuterRef("pk")).order_by("-sign_off_id")


def signed_label_subquery() -> Case_:
    """The final label a cell was signed with, for cells of cases that are signed off now (NULL
    for open or reopened cases, and for cells signed unreviewed)."""
    signed = NullIf(Subquery(signed_cells().values("label")[:1]), Value(""))
    return Case_(When(case__status=CaseStatus.SIGNED_OFF, then=signed), default=Value(None))


def signed_sign_off_subquery() -> Case_:
    """The id of the sign-off a signed-off cell's record comes from (NULL when open)."""
    signed = Subquery(signed_cells().values("sign_off_id")[:1])
    return Case_(When(case__status=CaseStatus.SIGNED_OFF, then=signed), default=Value(None))


def disputed_count(*, case: Case) -> int:
    """Cells whose readers disagree and no adjudicator has settled."""
    return Cell.objects.filter(OWN_CELLS, case=case).filter(unadjudicated_disputed_filter()).count()
