"""Reads on cases. Every query starts from the projects the user is a member of."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Case as Case_
from django.db.models import (
    Count,
    Exists,
    Expression,
    F,
    FilteredRelation,
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

from allreview.cases.models import Case, CaseStatus, Cell, CellClass, Label, LabelKind, LabelValue
from allreview.mlmodels.selectors import model_version_production
from allreview.projects.models import Project
from allreview.projects.permissions import Action, role_allows
from allreview.projects.selectors import membership_role, project_ids_for
from allreview.review.models import CaseReader, SignedCell
from classifier.crops import CropGeometry
from classifier.profiles import DEFAULT_PROFILE, PROFILES


def count_per_case(queryset: QuerySet[Any], *, distinct: bool = False) -> Coalesce:
    """A correlated count of the queryset's rows for the outer case: one subquery per column,
    so list pages stay one query. `distinct` counts cells once when the filter joins labels."""
    counted = (
        queryset.order_by().values("case_id").annotate(n=Count("id", distinct=distinct)).values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# Reader QC's known-answer cells (Cell.is_reference) are shown to a case's readers but are never
# part of the case: every figure, record and export reads only the case's own cells.
OWN_CELLS = Q(is_reference=False)


def shown_cells(*, case: Case, stand_ins: bool = False) -> QuerySet[Cell]:
    """The case's own cells, and with `stand_ins` (ReadingView.stand_ins) the known-answer
    cells placed among them, which its readers see like any other."""
    cells = Cell.objects.filter(case=case)
    return cells if stand_ins else cells.filter(OWN_CELLS)


def case_list_for_user(*, user: Any) -> QuerySet[Case]:
    cells = Cell.objects.filter(OWN_CELLS, case_id=OuterRef("pk"))
    return (
        Case.objects.filter(project_id__in=project_ids_for(user=user, action=Action.VIEW))
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
                CaseReader.objects.filter(case_id=OuterRef("pk"), user_id=user.pk, blinded=True)
            ),
        )
    )


def model_input_geometry(*, project: Project) -> CropGeometry | None:
    """The input the project's cases will be classified with, to prepare at upload: its
    production model's profile, else the default profile (what a first model is trained
    with). A later model of another geometry still works: it decodes the originals."""
    version = model_version_production(project=project)
    profile = PROFILES.get(version.profile if version else DEFAULT_PROFILE)
    return profile.crop_geometry if profile else None


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


def case_cells(
    *, case: Case, label: Any = None, model_hidden: bool = False, stand_ins: bool = False
) -> QuerySet[Cell]:
    """Cells with the case model's prediction and the current label, in one query. A viewer's
    label expression replaces the newest label; `model_hidden` blanks the model's values."""
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


# --- Review workspace -------------------------------------------------------------------------
# A Label row with the blank value ("cleared", written only by undo) means "unreviewed again":
# these selectors treat it as no label.

GALLERY_ORDERS = ("uncertainty", "probability")
GALLERY_FILTERS = ("all", "unreviewed", "disagree", "unsure", "artifact")


def review_label_subquery() -> NullIf:
    """The cell's current label, or NULL when it has none or its newest row is 'cleared'."""
    return NullIf(current_label_subquery(), Value(""))


def case_review_cells(
    *, case: Case, label: Expression | None = None, stand_ins: bool = False
) -> QuerySet[Cell]:
    """The case's cells with its model's prediction and a label: the final label by default
    (what sign-off uses), or the label expression a viewer sees (cleared = NULL)."""
    return shown_cells(case=case, stand_ins=stand_ins).annotate(
        prediction=FilteredRelation(
            "predictions", condition=Q(predictions__model_version_id=case.model_version_id)
        ),
        probability=F("prediction__probability"),
        predicted_label=F("prediction__label"),
        uncertainty=F("prediction__uncertainty"),
        label=case_final_label(case=case) if label is None else label,
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


def cells_current_labels(*, cell_ids: list[int], user: Any = None) -> dict[int, str | None]:
    """cell id -> newest label row value ('' when cleared), for cells with any label row; with a
    user, that user's newest read (a reader of a double-read case changes only their own)."""
    rows = Label.objects.filter(cell_id__in=cell_ids)
    if user is not None:
        rows = rows.filter(user=user, kind=LabelKind.READ)
    # Ascending ids, the last one wins: portable (SQLite has no DISTINCT ON) and a cell has few rows.
    return dict(rows.order_by("id").values_list("cell_id", "value"))


def case_cells_current_labels(
    *, case: Case, cell_ids: list[int], user: Any = None
) -> dict[int, str | None]:
    """cell id -> current label (None: none, or cleared) for each of the given cells that is in
    the case; with a user, that user's newest read. One query for a write's two questions:
    are these cells of this case, and which labels do the new rows replace."""
    label = review_label_subquery() if user is None else own_read_subquery(user=user)
    rows = Cell.objects.filter(case=case, pk__in=cell_ids).annotate(current=label)
    return dict(rows.values_list("pk", "current"))


def cell_label_history(*, cell: Cell, limit: int = 50, user: Any = None) -> list[dict[str, Any]]:
    """Newest first: value ('' when cleared by an undo), kind, who, when. With a user (a blinded
    reader), only that user's own reads."""
    rows = Label.objects.filter(cell=cell)
    if user is not None:
        rows = rows.filter(user=user, kind=LabelKind.READ)
    return list(
        rows.order_by("-id").values(
            "id", "value", "kind", "created_at", username=F("user__username")
        )[:limit]
    )


# --- Several readers, blinding and adjudication --------------------------------------------------
# A case with two or more assigned readers (CaseReader rows) is double-read: each reader's newest
# read counts separately, only they may label it, and where their reads differ the cell is
# disputed until an adjudicator's call (a Label of kind 'adjudication') settles it. A case with
# one reader or none keeps the single-read rule: the newest label is the cell's label.


def own_read_subquery(*, user: Any) -> NullIf:
    """The user's own newest read of the cell (cleared = NULL): what a reader of a double-read
    case, or a blinded reader, sees as the cell's label."""
    newest = (
        Label.objects.filter(cell_id=OuterRef("pk"), user_id=user.pk, kind=LabelKind.READ)
        .order_by("-id")
        .values("value")[:1]
    )
    return NullIf(Subquery(newest), Value(""))


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


def _reads_tally() -> QuerySet[Label]:
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
    double = GreaterThanOrEqual(_readers_count(OuterRef("case_id")), 2)
    by_reads = Case_(When(double, then=agreed_read_subquery()), default=review_label_subquery())
    return Coalesce(adjudication_subquery(), by_reads)


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


def reading_view(*, case: Case, user: Any, role: str | None = ASK) -> ReadingView:
    """The user's view of the case; pass `role` when the caller has already asked for it."""
    readers = dict(CaseReader.objects.filter(case=case).values_list("user_id", "blinded"))
    blinded = bool(readers.get(user.pk))
    if role == ASK:
        role = membership_role(user=user, project_id=case.project_id)
    view = ReadingView(
        double_read=len(readers) >= 2,
        reader=user.pk in readers,
        blinded=blinded,
        model_hidden=blinded and case.project.blind_model_call,
        taken=bool(readers),
        lead=role_allows(role, Action.ADJUDICATE),
    )
    if _shows_stand_ins(case, role, view):
        view = replace(view, stand_ins=True)
    return view


def _shows_stand_ins(case: Case, role: str | None, view: ReadingView) -> bool:
    """Known-answer cells are shown to whoever may label the open case, never after sign-off."""
    if case.status == CaseStatus.SIGNED_OFF or not role_allows(role, Action.LABEL):
        return False
    return view.may_label and Cell.objects.filter(case=case, is_reference=True).exists()


def viewer_label(*, case: Case, user: Any, view: ReadingView) -> Expression:
    """The label a user sees on the case's cells: their own reads as a reader of a double-read
    case or when blinded; the final label for others on a double-read case; else the newest."""
    if view.own_reads:
        return own_read_subquery(user=user)
    if view.double_read:
        return case_final_label(case=case)
    return review_label_subquery()


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
    reads: dict[int, dict[str, str]] = defaultdict(dict)
    for cell_id, reader, value in rows:
        reads[cell_id][reader] = value  # ascending ids: the newest wins
    return {c: {r: v for r, v in values.items() if v} for c, values in reads.items()}


def cells_reads_by_anyone(*, cell_ids: list[int]) -> dict[int, dict[str, str]]:
    """cell id -> {user: newest READ value} for everyone who read the cells (cleared left out):
    what agreement compares, recorded at sign-off."""
    rows = (
        Label.objects.filter(cell_id__in=cell_ids, kind=LabelKind.READ)
        .order_by("id")
        .values_list("cell_id", "user__username", "value")
    )
    reads: dict[int, dict[str, str]] = defaultdict(dict)
    for cell_id, reader, value in rows:
        reads[cell_id][reader] = value  # ascending ids: the newest wins
    return {c: {r: v for r, v in values.items() if v} for c, values in reads.items()}


def newest_label_id(*, cell_id: int) -> int | None:
    """The version an adjudicator's view carries: any new label of the cell changes it."""
    return (
        Label.objects.filter(cell_id=cell_id).order_by("-id").values_list("id", flat=True).first()
    )


def visible_label_history(*, cell: Cell, user: Any, view: ReadingView) -> QuerySet[Label]:
    """The label rows of a cell the user may see: a blinded reader only their own reads."""
    rows = Label.objects.filter(cell=cell)
    if view.blinded:
        rows = rows.filter(user=user, kind=LabelKind.READ)
    return rows


def blinded_open_case_ids(*, user: Any) -> QuerySet[CaseReader]:
    """Cases the user reads blinded and that are not signed off: there the user must not see
    other reads anywhere (queue, exports, audit), even as a lead. A subquery, not a list."""
    return (
        CaseReader.objects.filter(user_id=user.pk, blinded=True)
        .exclude(case__status=CaseStatus.SIGNED_OFF)
        .values("case_id")
    )


def model_hidden_case_ids(*, user: Any) -> QuerySet[CaseReader]:
    """Cases whose model calls are hidden from the user (ReadingView.model_hidden, for many
    cases at once): they read it blinded and the project hides the model from blinded reads."""
    return CaseReader.objects.filter(
        user_id=user.pk, blinded=True, case__project__blind_model_call=True
    ).values("case_id")


def cells_as_seen(*, case: Case, user: Any, cell_ids: list[int]) -> dict[str, Any]:
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


# --- The signed record ----------------------------------------------------------------------------
# What a sign-off recorded per cell (review.SignedCell). Exports, agreement and retraining read
# these rows: the live labels can change after a reopen, the record of a sign-off cannot.


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


def case_upload_warnings(*, case: Case) -> list[str]:
    """What the uploader should know about a new case that did not stop it: an earlier case of
    the project holds exactly the same images (same set of sha256), i.e. a likely re-upload."""
    hashes = list(shown_cells(case=case).values_list("sha256", flat=True))
    own = Q(cells__is_reference=False)
    same = (
        Case.objects.filter(project_id=case.project_id)
        .exclude(pk=case.pk)
        .annotate(
            n_cells=Count("cells", filter=own, distinct=True),
            n_same=Count("cells", filter=own & Q(cells__sha256__in=hashes), distinct=True),
        )
        .filter(n_cells=len(hashes), n_same=len(hashes))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [
        f"The same {len(hashes)} images as case #{pk} of this project: "
        "is this a re-upload? Both cases are kept; review only one."
        for pk in same
    ]
