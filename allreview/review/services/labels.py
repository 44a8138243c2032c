"""Label writes: one reviewer action on one or more cells (a set, the model's call accepted, an
undo), each a new Label row and an audit event, never an update. Checked against the reading
view, the case lock and the view the call was made on."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from allreview.cases.access import case_locked_for
from allreview.cases.models import Case, CaseStatus, Cell, Label, LabelValue, Prediction
from allreview.lib.users import AnyUser, signed_in, user_pk
from allreview.projects.permissions import Action
from allreview.review.errors import CaseLocked, StaleLabels
from allreview.review.models import LabelRequest
from allreview.review.selectors.labels import case_cells_current_labels, cells_current_labels
from allreview.review.selectors.reading import (
    ReadingView,
    cells_as_seen,
    reading_facts,
    reading_view_of,
)

# Written only by label_undo, when the undone action gave a cell its first label: the cell is
# "unreviewed again". Review selectors read this value as no label; label_set never accepts it.
CLEARED = ""


@dataclass(frozen=True)
class LabelChange:
    cell_id: int
    before: str | None  # None: the cell had no label (or a cleared one)
    after: str | None  # None: cleared by an undo


@dataclass(frozen=True)
class LabelBatch:
    """One reviewer action over one or more cells; `batch` names it for undo. `replayed`: the
    request id had been saved before and this is what was saved then. `view`: the writer's view
    of the case as the write found it under the case lock (None for a replay), so the answer's
    summary need not ask for it again; `case`, that case."""

    batch: str
    changes: list[LabelChange]
    labels: list[int] = field(default_factory=list)
    replayed: bool = False
    view: ReadingView | None = None
    case: Case | None = None  # the case as the write found it under its lock (always set)


def label_set(
    *,
    cell: Cell,
    user: AnyUser,
    value: str,
    seen: Mapping[int, str | None] | None = None,
    request_id: str = "",
) -> Label:
    """Record a reviewer's call on one cell as a new Label row (the history stays), audited.
    `seen` ({cell: label shown}) refuses a call made on a stale view; a repeated `request_id`
    answers the label saved the first time."""
    return label_set_once(cell=cell, user=user, value=value, seen=seen, request_id=request_id)[0]


def label_set_once(
    *,
    cell: Cell,
    user: AnyUser,
    value: str,
    seen: Mapping[int, str | None] | None = None,
    request_id: str = "",
) -> tuple[Label, bool]:
    """label_set, and whether the request id had been saved before (nothing new written)."""
    batch = labels_set_bulk(
        case=cell.case, user=user, values={cell.pk: value}, seen=seen, request_id=request_id
    )
    return Label.objects.get(pk=batch.labels[0]), batch.replayed


def _reads_of(view: ReadingView, user: AnyUser) -> tuple[AnyUser | None, bool]:
    """Whose labels a write replaces: the user's own reads in a double-read case (or when
    blinded), else the cell's shared newest label (None); and whether a lead steps in on a case
    someone else reads. Refuses whoever is not a reader of a taken case (a lead may step in on a
    single-read case; a double-read case is settled by adjudication)."""
    if not view.may_label:
        if view.double_read:
            raise PermissionDenied(
                "this case is double-read: only its readers label it; "
                "settle disagreements in the adjudication queue"
            )
        raise PermissionDenied("this case is taken: only its reader (or a lead) labels it")
    return (user if view.own_reads else None), view.lead_override


def labels_set_bulk(
    *,
    case: Case | int,
    user: AnyUser,
    values: Mapping[int, str],
    seen: Mapping[int, str | None] | None = None,
    request_id: str = "",
) -> LabelBatch:
    """Record one reviewer action on several cells of a case: one new Label row and one audit
    event per cell, all in one transaction, tied together by a batch id for undo. With `seen`
    (the label each cell showed, None for none) a cell labelled since refuses the whole action
    (StaleLabels); a repeated `request_id` answers what was saved the first time. `case` may be
    a case id: it is then looked up under the access rule with its lock (404 for an outsider)."""
    bad = sorted({v for v in values.values() if v not in LabelValue.values})
    if bad:
        raise ValidationError(
            {"value": [f"{bad[0]!r} is not one of {', '.join(LabelValue.values)}"]}
        )
    if not values:
        raise ValidationError("no cells to label")
    return _label_action(
        case=case,
        user=user,
        request_id=request_id,
        asked={"values": {str(c): v for c, v in values.items()}},
        resolve=lambda locked, view: dict(values),
        seen=seen,
    )


def labels_accept_model(
    *,
    case: Case | int,
    user: AnyUser,
    cell_ids: list[int],
    model_version_id: int | None,
    seen: Mapping[int, str | None] | None = None,
    request_id: str = "",
) -> LabelBatch:
    """Accept the model's call (the Enter key) as the call of `model_version_id`, the version
    whose calls the page showed: if the case has been reclassified by another version since,
    StaleLabels is raised and nothing is written, never a call the reviewer did not see."""
    if not cell_ids:
        raise ValidationError("no cells to label")

    def resolve(locked: Case, view: ReadingView) -> dict[int, str]:
        _require_cells_of_case(locked, cell_ids)
        if view.model_hidden:
            raise PermissionDenied("the model's call is hidden from you on this case")
        if model_version_id is None:
            raise ValidationError("say which model version's call you accept ('model_version')")
        if locked.model_version_id != model_version_id:
            raise StaleLabels(
                cells_as_seen(case=locked, user=user, cell_ids=cell_ids),
                "the case was classified again by another model version since you loaded "
                "it; the page now shows the current calls",
            )
        calls = dict(
            Prediction.objects.filter(
                cell_id__in=cell_ids, model_version_id=model_version_id
            ).values_list("cell_id", "label")
        )
        missing = [i for i in cell_ids if i not in calls]
        if missing:
            raise ValidationError(f"cell {missing[0]} has no prediction to accept")
        return {i: calls[i] for i in cell_ids}

    return _label_action(
        case=case,
        user=user,
        request_id=request_id,
        asked={"accept": model_version_id, "cells": sorted(cell_ids)},
        resolve=resolve,
        seen=seen,
    )


def _label_action(
    *,
    case: Case | int,
    user: AnyUser,
    request_id: str,
    asked: dict[str, Any],
    resolve: Callable[[Case, ReadingView], dict[int, str]],
    seen: Mapping[int, str | None] | None,
) -> LabelBatch:
    """The shared path of a label write: lock the case, answer a repeated request id from its
    record, check the cells, the labeller and the view the call was made on, then write.
    Every label of a case's cells is written under its case's lock (here, undo, adjudication),
    so the labels read once under it are the ones the new rows replace."""
    fingerprint = hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()
    with transaction.atomic():
        locked, view = _lock_for_labelling(case, user)
        if request_id:
            done = LabelRequest.objects.filter(user_id=user_pk(user), request_id=request_id).first()
            if done is not None:
                return replace(_replayed(done, fingerprint), case=locked)
        values = resolve(locked, view)
        reads_of, lead_override = _reads_of(view, user)
        current = case_cells_current_labels(case=locked, cell_ids=list(values), user=reads_of)
        _require_cells_found(locked, list(values), current)
        if seen is not None:
            _require_current(locked, user, current, values, seen)
        batch = _labels_write(
            case=locked,
            user=user,
            values=values,
            action="label.set",
            before=current,
            lead_override=lead_override,
            view=view,
        )
        if request_id:
            _request_record(locked, user, request_id, fingerprint, batch)
    return batch


def _lock_for_labelling(case: Case | int, user: AnyUser) -> tuple[Case, ReadingView]:
    """The open case row-locked under the access rule, the user's role checked for labelling and
    their reading view, all from one query (a relabel is the platform's hottest write)."""
    locked, role = case_locked_for(
        user=user,
        case_id=case if isinstance(case, int) else case.pk,
        action=Action.LABEL,
        annotations=reading_facts(user=user),
    )
    if locked.status == CaseStatus.SIGNED_OFF:
        raise CaseLocked()
    return locked, reading_view_of(case=locked, role=role)


def _require_current(
    case: Case,
    user: AnyUser,
    current: Mapping[int, str | None],
    values: Mapping[int, str],
    seen: Mapping[int, str | None],
) -> None:
    """Every cell must still show the label the page showed (as this user sees labels)."""
    stale = [c for c in values if (current.get(c) or None) != (seen.get(c) or None)]
    if stale:
        raise StaleLabels(
            cells_as_seen(case=case, user=user, cell_ids=list(values)),
            f"{len(stale)} cell(s) were labelled by someone else since you loaded them; "
            "the page now shows their current labels",
        )


def _request_record(
    case: Case, user: AnyUser, request_id: str, fingerprint: str, batch: LabelBatch
) -> None:
    LabelRequest.objects.create(
        user=signed_in(user),
        request_id=request_id,
        case=case,
        fingerprint=fingerprint,
        batch=batch.batch,
        changes=[[c.cell_id, c.before, c.after] for c in batch.changes],
        labels=batch.labels,
    )


def _replayed(done: LabelRequest, fingerprint: str) -> LabelBatch:
    if done.fingerprint != fingerprint:
        raise ValidationError("that request id was already used for a different action")
    changes = [LabelChange(cell, before, after) for cell, before, after in done.changes]
    return LabelBatch(batch=done.batch, changes=changes, labels=done.labels, replayed=True)


def label_undo(*, case: Case, user: AnyUser, batch: str) -> LabelBatch:
    """Undo the user's action `batch` by new Label rows that restore each cell's previous value.
    Refused when a cell was relabelled since (by anyone) or the action was undone already."""
    from allreview.audit.models import AuditEvent

    with transaction.atomic():
        case, view = _lock_for_labelling(case, user)
        events = AuditEvent.objects.filter(
            case_id=case.pk, actor_id=user_pk(user), action__in=LABEL_ACTIONS, after__batch=batch
        ).values_list("target_id", "before", "after")
        if not events:
            raise ValidationError("there is no action of yours with that id to undo")
        if AuditEvent.objects.filter(case_id=case.pk, after__undoes=batch).exists():
            raise ValidationError("that action was undone already")
        restore = {int(cell): (before or {}).get("label") for cell, before, _ in events}
        expected = {int(cell): after.get("label") for cell, _, after in events}
        reads_of, _ = _reads_of(view, user)
        current = cells_current_labels(cell_ids=list(restore), user=reads_of)
        changed = [c for c, v in expected.items() if (current.get(c) or None) != (v or None)]
        if changed:
            raise ValidationError(
                f"{len(changed)} cell(s) were relabelled since that action; undo them by hand"
            )
        values = {cell: value or CLEARED for cell, value in restore.items()}
        return _labels_write(
            case=case,
            user=user,
            values=values,
            action="label.undo",
            undoes=batch,
            before=current,
        )


def label_revert(
    *, case: Case, user: AnyUser, cell_id: int, expected: str, value: str | None
) -> LabelBatch | None:
    """Put one cell's label back to `value` (None: unreviewed again) if it still shows
    `expected` as the user sees labels; None, and nothing written, when it shows another label
    now (relabelled since: that later call stands). For a write another app takes back (a
    field's rejected detection restored). Refused like any label write."""
    if value is not None and value not in LabelValue.values:
        raise ValidationError(
            {"value": [f"{value!r} is not one of {', '.join(LabelValue.values)}"]}
        )
    with transaction.atomic():
        locked, view = _lock_for_labelling(case, user)
        reads_of, lead_override = _reads_of(view, user)
        current = case_cells_current_labels(case=locked, cell_ids=[cell_id], user=reads_of)
        _require_cells_found(locked, [cell_id], current)
        if (current[cell_id] or None) != (expected or None):
            return None
        return _labels_write(
            case=locked,
            user=user,
            values={cell_id: value or CLEARED},
            action="label.set",
            before=current,
            lead_override=lead_override,
            view=view,
        )


LABEL_ACTIONS = ("label.set", "label.undo")


def _require_cells_of_case(case: Case, cell_ids: list[int]) -> None:
    found = set(Cell.objects.filter(case=case, pk__in=cell_ids).values_list("pk", flat=True))
    missing = sorted(set(cell_ids) - found)
    if missing:
        raise ValidationError(f"cell {missing[0]} is not in case {case.pk}")


def _require_cells_found(case: Case, cell_ids: list[int], found: Mapping[int, str | None]) -> None:
    missing = sorted(set(cell_ids) - set(found))
    if missing:
        raise ValidationError(f"cell {missing[0]} is not in case {case.pk}")


def _labels_write(
    *,
    case: Case,
    user: AnyUser,
    values: Mapping[int, str],
    action: str,
    before: Mapping[int, str | None],
    undoes: str = "",
    lead_override: bool = False,
    view: ReadingView | None = None,
) -> LabelBatch:
    """`case` is locked; `before` holds the labels the new rows replace, read under its lock."""
    from allreview.audit.models import AuditEvent

    author = signed_in(user)
    batch = uuid.uuid4().hex
    labels = Label.objects.bulk_create(
        Label(cell_id=c, value=v, user=author) for c, v in values.items()
    )
    if case.status == CaseStatus.READY:  # read under the lock: no query when already in review
        Case.objects.filter(pk=case.pk, status=CaseStatus.READY).update(status=CaseStatus.IN_REVIEW)
    extra: dict[str, Any] = {"undoes": undoes} if undoes else {}
    if lead_override:
        extra["lead_override"] = True  # a lead labelled a case someone else reads
    AuditEvent.objects.bulk_create(
        AuditEvent(
            action=action,
            actor=author,
            project_id=case.project_id,
            case_id=case.pk,
            target_type="cases.cell",
            target_id=str(cell),
            before={"label": before.get(cell) or None},
            after={"label": value or None, "batch": batch, **extra},
        )
        for cell, value in values.items()
    )
    changes = [LabelChange(c, before.get(c) or None, v or None) for c, v in values.items()]
    return LabelBatch(
        batch=batch, changes=changes, labels=[label.pk for label in labels], view=view, case=case
    )
