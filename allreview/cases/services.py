"""Writes on cases: upload, relabel, retry. Views, the API and commands all come through here."""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.cases import hooks, selectors, standins
from allreview.cases.ingest import (
    AcceptedImage,
    IncomingFile,
    check_files,
    expand_archives,
    ingest_pool,
)
from allreview.cases.models import (
    Case,
    CaseStatus,
    Cell,
    Label,
    LabelRequest,
    LabelValue,
    Prediction,
    lapsed_claim,
    pseudonym_validator,
)
from allreview.cases.pseudonyms import validate_patient_code
from allreview.cases.queueing import on_commit_send, task_send
from allreview.lib.thumbpack import thumbnail_pack
from allreview.projects.models import Project
from allreview.projects.permissions import Action, role_allows
from allreview.projects.selectors import membership_role

logger = logging.getLogger(__name__)

EXTENSION_BY_FORMAT = {"BMP": "bmp", "PNG": "png", "JPEG": "jpg", "TIFF": "tif"}


def require_role(*, user: Any, project_id: int, action: Action) -> str:
    """The user's role in the project, or PermissionDenied when it does not allow the action."""
    role = membership_role(user=user, project_id=project_id)
    if not role_allows(role, action):
        raise PermissionDenied(f"your role does not allow '{action}' in this project")
    return role  # type: ignore[return-value]


def validate_case_fields(*, patient_code: str, specimen_id: str) -> None:
    errors: dict[str, list[str]] = {}
    checks = (("patient_code", patient_code, validate_patient_code),)
    if specimen_id:
        checks += (("specimen_id", specimen_id, pseudonym_validator),)
    for field_name, value, validate in checks:
        try:
            validate(value)
        except ValidationError as exc:
            errors[field_name] = exc.messages
    if errors:
        raise ValidationError(errors)


def case_upload(
    *,
    project: Project,
    user: Any,
    patient_code: str,
    specimen_id: str = "",
    files: list[IncomingFile],
    check_permission: bool = True,
) -> Case:
    """Check every file, then store files and rows in one transaction and queue classification.

    Refused uploads raise UploadRejected (naming each bad file) before anything is written; a
    failure while writing removes the files already stored, so no orphan stays on disk.
    """
    if check_permission:
        require_role(user=user, project_id=project.pk, action=Action.UPLOAD)
    validate_case_fields(patient_code=patient_code, specimen_id=specimen_id)
    with tempfile.TemporaryDirectory(
        prefix="allreview-upload-", dir=settings.FILE_UPLOAD_TEMP_DIR
    ) as workdir:
        accepted = check_files(
            expand_archives(files, workdir=Path(workdir)),
            model_input=selectors.model_input_geometry(project=project),
        )
        return _case_store(
            project=project,
            user=user,
            patient_code=patient_code,
            specimen_id=specimen_id,
            accepted=accepted,
        )


def _case_store(
    *,
    project: Project,
    user: Any,
    patient_code: str,
    specimen_id: str,
    accepted: list[AcceptedImage],
) -> Case:
    stored: list[str] = []
    committed: list[bool] = []
    # Issue 14: whole smear fields go to the fields app (segmented into cells on a worker).
    fields = [image for image in accepted if image.is_field]
    accepted = [image for image in accepted if not image.is_field]
    try:
        with transaction.atomic():
            case = Case.objects.create(
                project=project,
                patient_code=patient_code,
                specimen_id=specimen_id,
                uploaded_by=user if getattr(user, "is_authenticated", False) else None,
                status=CaseStatus.QUEUED,
                progress_total=len(accepted),
            )
            with ingest_pool() as pool:
                store = partial(_cell_store, case=case, stored=stored)
                cells = list(pool.map(lambda image: store(image=image), accepted))
            # Reader QC: known-answer cells of other patients, placed among the case's own
            # before the insert so their ids fall among the case's (see cases/standins.py).
            hashes = frozenset(c.sha256 for c in cells)
            extra = standins.stand_ins_pick(case=case, hashes=hashes, n_own=len(cells))
            Cell.objects.bulk_create(
                standins.interleave(cells, [s.cell for s in extra]), batch_size=500
            )
            for stand_in in extra:
                stand_in.on_saved(stand_in.cell)
            if fields:
                _fields_store(case, fields, stored)
            # every thumbnail the gallery shows, the known-answer cells' too (else they would be
            # the ones fetched one by one)
            _thumbnail_pack_store(
                case=case,
                cells=cells,
                accepted=accepted,
                stored=stored,
                stand_ins=[s.cell for s in extra],
            )
            audit_record(
                action="case.upload",
                actor=user,
                project_id=project.pk,
                case_id=case.pk,
                target=case,
                after={"cells": len(cells), **({"fields": len(fields)} if fields else {})},
            )
            # First on commit: from then on the files belong to committed rows and must stay.
            transaction.on_commit(lambda: committed.append(True))
            on_commit_send(lambda: case_enqueue(case_id=case.pk))
    except BaseException:
        if not committed:
            for name in stored:
                default_storage.delete(name)
        raise
    logger.info("case %s uploaded with %d cells", case.pk, len(accepted))
    return case


def _fields_store(case: Case, fields: list[AcceptedImage], stored: list[str]) -> None:
    store = hooks.field_intake()
    if store is None:  # the fields app is not installed
        raise ValidationError("whole smear fields are not accepted by this installation")
    store(case, fields, stored)


def _cell_store(*, case: Case, image: AcceptedImage, stored: list[str]) -> Cell:
    checked = image.checked
    base = f"cells/{case.project_id}/{case.pk}/{checked.sha256}"
    with image.incoming.open() as original:  # streamed from disk, never whole in memory
        image_name = default_storage.save(
            f"{base}.{EXTENSION_BY_FORMAT[checked.format]}", File(original)
        )
    stored.append(image_name)
    thumb_name = _storage_put(f"{base}.thumb.jpg", checked.thumbnail)
    stored.append(thumb_name)
    input_name = ""
    if checked.model_input:
        geometry = checked.model_input_geometry.replace("/", "-").replace("@", "-")
        input_name = _storage_put(f"{base}.in{geometry}.png", checked.model_input)
        stored.append(input_name)
    return Cell(
        case=case,
        image=image_name,
        thumbnail=thumb_name,
        sha256=checked.sha256,
        size_bytes=checked.size,
        width=checked.width,
        height=checked.height,
        image_format=checked.format,
        original_name=image.incoming.name[-255:],
        truth=image.incoming.truth,
        model_input=input_name,
        model_input_geometry=checked.model_input_geometry if input_name else "",
    )


def _thumbnail_pack_store(
    *,
    case: Case,
    cells: list[Cell],
    accepted: list[AcceptedImage],
    stored: list[str],
    stand_ins: list[Cell],
) -> None:
    """Every thumbnail of the case in one file, so the gallery paints from one request."""
    own = [(cell.pk, image.checked.thumbnail) for cell, image in zip(cells, accepted, strict=True)]
    borrowed = [(cell.pk, _storage_read(cell.thumbnail.name)) for cell in stand_ins]
    pack = thumbnail_pack(own + borrowed)
    name = _storage_put(f"cells/{case.project_id}/{case.pk}/{pack.file_name}", pack.data)
    stored.append(name)
    Case.objects.filter(pk=case.pk).update(thumbnail_pack=name)
    case.thumbnail_pack.name = name


def _storage_read(name: str) -> bytes:
    with default_storage.open(name, "rb") as file:
        return file.read()


def _storage_put(name: str, data: bytes) -> str:
    return default_storage.save(name, ContentFile(data))


QUEUE_UNREACHABLE_NOTICE = (
    "The task queue could not be reached; classification starts automatically within a few "
    "minutes of it coming back. Nothing needs to be uploaded again."
)


def case_enqueue(*, case_id: int) -> bool:
    """Send the case to a classification worker. When the broker is down the case stays queued
    with a notice and no `enqueued_at`, which the beat sweep reads as "never sent" and sends
    again within a minute; the worker's claim makes a duplicate send harmless."""
    from allreview.cases.tasks import case_classify

    step = hooks.before_classify(case_id)  # issue 14: fields are segmented first
    sent = task_send(case_classify, case_id) if step is None else step
    if sent:
        Case.objects.filter(pk=case_id).update(enqueued_at=timezone.now())
        Case.objects.filter(pk=case_id, status_detail=QUEUE_UNREACHABLE_NOTICE).update(
            status_detail=""
        )
        return True
    Case.objects.filter(pk=case_id, status=CaseStatus.QUEUED).update(
        enqueued_at=None, status_detail=QUEUE_UNREACHABLE_NOTICE
    )
    return False


class CaseLocked(ValidationError):
    """The case is signed off: nothing about its reads changes until a lead reopens it (409)."""

    def __init__(self) -> None:
        super().__init__("the case is signed off and locked; a lead can reopen it")


class StaleLabels(Exception):
    """The write was decided on a view of the cells that is no longer current: a label or the
    model's call changed since the page showed them (HTTP 409). `fresh` is the state now, as
    the user may see it, so the page can show it."""

    def __init__(self, fresh: dict[str, Any], detail: str) -> None:
        super().__init__(detail)
        self.fresh = fresh


def label_set(
    *,
    cell: Cell,
    user: Any,
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
    user: Any,
    value: str,
    seen: Mapping[int, str | None] | None = None,
    request_id: str = "",
) -> tuple[Label, bool]:
    """label_set, and whether the request id had been saved before (nothing new written)."""
    batch = labels_set_bulk(
        case=cell.case, user=user, values={cell.pk: value}, seen=seen, request_id=request_id
    )
    return Label.objects.get(pk=batch.labels[0]), batch.replayed


def _reads_of(
    case: Case, user: Any, role: str | None = selectors.ASK
) -> tuple[Any, bool, selectors.ReadingView]:
    """Whose labels a write replaces: the user's own reads in a double-read case (or when
    blinded), else the cell's shared newest label (None); whether a lead steps in on a case
    someone else reads; and the user's view of the case. Refuses whoever is not a reader of a
    taken case (a lead may step in on a single-read case; a double-read case is settled by
    adjudication). `role`: the user's role when the caller has just asked for it."""
    view = selectors.reading_view(case=case, user=user, role=role)
    if not view.may_label:
        if view.double_read:
            raise PermissionDenied(
                "this case is double-read: only its readers label it; "
                "settle disagreements in the adjudication queue"
            )
        raise PermissionDenied("this case is taken: only its reader (or a lead) labels it")
    return (user if view.own_reads else None), view.lead_override, view


def case_retry(*, case: Case, user: Any) -> Case:
    """Queue a failed case again, or one whose worker died (its claim's lease lapsed); its
    predictions so far are kept (the task skips them)."""
    require_role(user=user, project_id=case.project_id, action=Action.RETRY)
    with transaction.atomic():
        retryable = Q(status=CaseStatus.FAILED) | lapsed_claim()
        updated = Case.objects.filter(retryable, pk=case.pk).update(
            status=CaseStatus.QUEUED, status_detail="", enqueued_at=None
        )
        if not updated:
            raise ValidationError(
                "only a failed case, or one whose worker stopped answering, can be retried"
            )
        audit_record(
            action="case.retry",
            actor=user,
            project_id=case.project_id,
            case_id=case.pk,
            target=case,
        )
        on_commit_send(lambda: case_enqueue(case_id=case.pk))
    case.refresh_from_db()
    return case


# --- Review workspace: bulk relabel and undo -----------------------------------------------------

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
    summary need not ask for it again."""

    batch: str
    changes: list[LabelChange]
    labels: list[int] = field(default_factory=list)
    replayed: bool = False
    view: selectors.ReadingView | None = None


def labels_set_bulk(
    *,
    case: Case,
    user: Any,
    values: Mapping[int, str],
    seen: Mapping[int, str | None] | None = None,
    request_id: str = "",
) -> LabelBatch:
    """Record one reviewer action on several cells of a case: one new Label row and one audit
    event per cell, all in one transaction, tied together by a batch id for undo. With `seen`
    (the label each cell showed, None for none) a cell labelled since refuses the whole action
    (StaleLabels); a repeated `request_id` answers what was saved the first time."""
    role = require_role(user=user, project_id=case.project_id, action=Action.LABEL)
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
        resolve=lambda locked: dict(values),
        seen=seen,
        role=role,
    )


def labels_accept_model(
    *,
    case: Case,
    user: Any,
    cell_ids: list[int],
    model_version_id: int | None,
    seen: Mapping[int, str | None] | None = None,
    request_id: str = "",
) -> LabelBatch:
    """Accept the model's call (the Enter key) as the call of `model_version_id`, the version
    whose calls the page showed: if the case has been reclassified by another version since,
    StaleLabels is raised and nothing is written, never a call the reviewer did not see."""
    role = require_role(user=user, project_id=case.project_id, action=Action.LABEL)
    if not cell_ids:
        raise ValidationError("no cells to label")

    def resolve(locked: Case) -> dict[int, str]:
        _require_cells_of_case(locked, cell_ids)
        if selectors.reading_view(case=locked, user=user, role=role).model_hidden:
            raise PermissionDenied("the model's call is hidden from you on this case")
        if model_version_id is None:
            raise ValidationError("say which model version's call you accept ('model_version')")
        if locked.model_version_id != model_version_id:
            raise StaleLabels(
                selectors.cells_as_seen(case=locked, user=user, cell_ids=cell_ids),
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
        role=role,
    )


def _label_action(
    *,
    case: Case,
    user: Any,
    request_id: str,
    asked: dict[str, Any],
    resolve: Callable[[Case], dict[int, str]],
    seen: Mapping[int, str | None] | None,
    role: str | None,
) -> LabelBatch:
    """The shared path of a label write: lock the case, answer a repeated request id from its
    record, check the cells, the labeller and the view the call was made on, then write.
    Every label of a case's cells is written under its case's lock (here, undo, adjudication),
    so the labels read once under it are the ones the new rows replace."""
    fingerprint = hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()
    with transaction.atomic():
        locked = _lock_open_case(case)
        if request_id:
            done = LabelRequest.objects.filter(user=user, request_id=request_id).first()
            if done is not None:
                return _replayed(done, fingerprint)
        values = resolve(locked)
        reads_of, lead_override, view = _reads_of(locked, user, role)
        current = selectors.case_cells_current_labels(
            case=locked, cell_ids=list(values), user=reads_of
        )
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


def _require_current(
    case: Case,
    user: Any,
    current: Mapping[int, str | None],
    values: Mapping[int, str],
    seen: Mapping[int, Any],
) -> None:
    """Every cell must still show the label the page showed (as this user sees labels)."""
    stale = [c for c in values if (current.get(c) or None) != (seen.get(c) or None)]
    if stale:
        raise StaleLabels(
            selectors.cells_as_seen(case=case, user=user, cell_ids=list(values)),
            f"{len(stale)} cell(s) were labelled by someone else since you loaded them; "
            "the page now shows their current labels",
        )


def _request_record(
    case: Case, user: Any, request_id: str, fingerprint: str, batch: LabelBatch
) -> None:
    LabelRequest.objects.create(
        user=user,
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


def label_undo(*, case: Case, user: Any, batch: str) -> LabelBatch:
    """Undo the user's action `batch` by new Label rows that restore each cell's previous value.
    Refused when a cell was relabelled since (by anyone) or the action was undone already."""
    require_role(user=user, project_id=case.project_id, action=Action.LABEL)
    from allreview.audit.models import AuditEvent

    with transaction.atomic():
        case = _lock_open_case(case)
        events = AuditEvent.objects.filter(
            case_id=case.pk, actor=user, action__in=LABEL_ACTIONS, after__batch=batch
        ).values_list("target_id", "before", "after")
        if not events:
            raise ValidationError("there is no action of yours with that id to undo")
        if AuditEvent.objects.filter(case_id=case.pk, after__undoes=batch).exists():
            raise ValidationError("that action was undone already")
        restore = {int(cell): (before or {}).get("label") for cell, before, _ in events}
        expected = {int(cell): after.get("label") for cell, _, after in events}
        reads_of, _, _ = _reads_of(case, user)
        current = selectors.cells_current_labels(cell_ids=list(restore), user=reads_of)
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


LABEL_ACTIONS = ("label.set", "label.undo")


def _lock_open_case(case: Case) -> Case:
    """Row lock on the case so a sign-off and a relabel never interleave; the case as it is now
    (its status and model version may have changed since `case` was read)."""
    locked = Case.objects.select_for_update(of=("self",)).select_related("project").get(pk=case.pk)
    if locked.status == CaseStatus.SIGNED_OFF:
        raise CaseLocked()
    return locked


def _require_cells_of_case(case: Case, cell_ids: list[int]) -> None:
    found = set(Cell.objects.filter(case=case, pk__in=cell_ids).values_list("pk", flat=True))
    missing = sorted(set(cell_ids) - found)
    if missing:
        raise ValidationError(f"cell {missing[0]} is not in case {case.pk}")


def _require_cells_found(case: Case, cell_ids: list[int], found: Mapping[int, Any]) -> None:
    missing = sorted(set(cell_ids) - set(found))
    if missing:
        raise ValidationError(f"cell {missing[0]} is not in case {case.pk}")


def _labels_write(
    *,
    case: Case,
    user: Any,
    values: Mapping[int, str],
    action: str,
    before: Mapping[int, str | None],
    undoes: str = "",
    lead_override: bool = False,
    view: selectors.ReadingView | None = None,
) -> LabelBatch:
    """`case` is locked; `before` holds the labels the new rows replace, read under its lock."""
    from allreview.audit.models import AuditEvent

    batch = uuid.uuid4().hex
    labels = Label.objects.bulk_create(
        Label(cell_id=c, value=v, user=user) for c, v in values.items()
    )
    if case.status == CaseStatus.READY:  # read under the lock: no query when already in review
        Case.objects.filter(pk=case.pk, status=CaseStatus.READY).update(
            status=CaseStatus.IN_REVIEW
        )
    extra: dict[str, Any] = {"undoes": undoes} if undoes else {}
    if lead_override:
        extra["lead_override"] = True  # a lead labelled a case someone else reads
    AuditEvent.objects.bulk_create(
        AuditEvent(
            action=action,
            actor=user,
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
        batch=batch, changes=changes, labels=[label.pk for label in labels], view=view
    )
