"""Label rows as values: the newest label, a reader's own read, each reader's read. A Label row
with the blank value ("cleared", written only by undo) means "unreviewed again": these
selectors treat it as no label."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import NullIf

from allreview.cases.models import Case, Cell, Label, LabelKind
from allreview.lib.users import AnyUser, user_pk


def current_label_subquery() -> Subquery:
    newest = Label.objects.filter(cell_id=OuterRef("pk")).order_by("-id").values("value")[:1]
    return Subquery(newest)


def review_label_subquery() -> NullIf:
    """The cell's current label, or NULL when it has none or its newest row is 'cleared'."""
    return NullIf(current_label_subquery(), Value(""))


def own_read_subquery(*, user: AnyUser) -> NullIf:
    """The user's own newest read of the cell (cleared = NULL): what a reader of a double-read
    case, or a blinded reader, sees as the cell's label."""
    newest = (
        Label.objects.filter(cell_id=OuterRef("pk"), user_id=user_pk(user), kind=LabelKind.READ)
        .order_by("-id")
        .values("value")[:1]
    )
    return NullIf(Subquery(newest), Value(""))


def cells_current_labels(
    *, cell_ids: list[int], user: AnyUser | None = None
) -> dict[int, str | None]:
    """cell id -> newest label row value ('' when cleared), for cells with any label row; with a
    user, that user's newest read (a reader of a double-read case changes only their own)."""
    rows = Label.objects.filter(cell_id__in=cell_ids)
    if user is not None:
        rows = rows.filter(user=user, kind=LabelKind.READ)
    # Ascending ids, the last one wins: portable (SQLite has no DISTINCT ON) and a cell has few rows.
    return dict(rows.order_by("id").values_list("cell_id", "value"))


def case_cells_current_labels(
    *, case: Case, cell_ids: list[int], user: AnyUser | None = None
) -> dict[int, str | None]:
    """cell id -> current label (None: none, or cleared) for each of the given cells that is in
    the case; with a user, that user's newest read. One query for a write's two questions:
    are these cells of this case, and which labels do the new rows replace."""
    label = review_label_subquery() if user is None else own_read_subquery(user=user)
    rows = Cell.objects.filter(case=case, pk__in=cell_ids).annotate(current=label)
    return dict(rows.values_list("pk", "current"))


def cells_reads(*, cell_ids: list[int]) -> dict[int, dict[str, str]]:
    """cell id -> {reader: newest read} for the given cells' assigned readers (cleared left out)."""
    rows = (
        Label.objects.filter(
            cell_id__in=cell_ids,
            kind=LabelKind.READ,
            user__case_reads__case_id=F("cell__case_id"),
        )
        .order_by("id")
        .values_list("cell_id", "user__username", "value")
    )
    return _newest_reads(rows)


def cells_reads_by_anyone(*, cell_ids: list[int]) -> dict[int, dict[str, str]]:
    """cell id -> {user: newest READ value} for everyone who read the cells (cleared left out):
    what agreement compares, recorded at sign-off."""
    rows = (
        Label.objects.filter(cell_id__in=cell_ids, kind=LabelKind.READ)
        .order_by("id")
        .values_list("cell_id", "user__username", "value")
    )
    return _newest_reads(rows)


def newest_label_id(*, cell_id: int) -> int | None:
    """The version an adjudicator's view carries: any new label of the cell changes it."""
    return (
        Label.objects.filter(cell_id=cell_id).order_by("-id").values_list("id", flat=True).first()
    )


def _newest_reads(rows: Iterable[tuple[int, str, str]]) -> dict[int, dict[str, str]]:
    """(cell id, reader, value) rows in ascending label id -> cell id -> {reader: newest value},
    readers whose newest read is a clear left out."""
    reads: dict[int, dict[str, str]] = defaultdict(dict)
    for cell_id, reader, value in rows:
        reads[cell_id][reader] = value  # ascending ids: the newest wins
    return {c: {r: v for r, v in values.items() if v} for c, values in reads.items()}
