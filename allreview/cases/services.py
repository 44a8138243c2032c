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
from allreview.cases import selectors
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
            Cell.objects.bulk_create(cells, batch_size=500)
            _thumbnail_pack_store(case=case, cells=cells, accepted=accepted, stored=stored)
            audit_record(
                action="case.upload",
                actor=user,
                project_id=project.pk,
                case_id=case.pk,
                target=case,
                after={"cells": len(cells)},
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
    *, case: Case, cells: list[Cell], accepted: list[AcceptedImage], stored: list[str]
) -> None:
    """Every thumbnail of the case in one file, so the gallery paints from one request."""
    pack = thumbnail_pack(
        (cell.pk, image.checked.thumbnail) for cell, image in zip(cells, accepted, strict=True)
    )
    name = _storage_put(f"cells/{case.project_id}/{case.pk}/{pack.file_name}", pack.data)
    stored.append(name)
    Case.objects.filter(pk=case.pk).update(thumbnail_pack=name)
    case.thumbnail_pack.name = name


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

    if task_send(case_classify, case_id):
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


def _reads_of(case: Case, user: Any) -> tuple[Any, bool]:
    """Whose labels a write replaces: the user's own reads in a double-read case (or when
    blinded), else the cell's shared newest label (None); and whether a lead steps in on a case
    someone else reads. Refuses whoever is not a reader of a taken case (a lead may step in
    on a single-read case; a double-read case is settled by adjudication)."""
    view = selectors.reading_view(case=case, user=user)
    if not view.may_label:
        if view.double_read:
            raise PermissionDenied(
                "this case is double-read: only its readers label it; "
                "settle disagreements in the adjudication queue"
            )
        raise PermissionDenied("this case is taken: only its reader (or a lead) labels it")
    return (user if view.own_reads else None), view.lead_override


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
    request id had been saved before and this is what was saved then."""

    batch: str
    changes: list[LabelChange]
    labels: list[int] = field(default_factory=list)
    replayed: bool = False


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
    require_role(user=user, project_id=case.project_id, action=Action.LABEL)
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
    require_role(user=user, project_id=case.project_id, action=Action.LABEL)
    if not cell_ids:
        raise ValidationError("no cells to label")

    def resolve(locked: Case) -> dict[int, str]:
        _require_cells_of_case(locked, cell_ids)
        if selectors.reading_view(case=locked, user=user).model_hidden:
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
    )


def _label_action(
    *,
    case: Case,
    user: Any,
    request_id: str,
    asked: dict[str, Any],
    resolve: Callable[[Case], dict[int, str]],
    seen: Mapping[int, str | None] | None,
) -> LabelBatch:
    """The shared path of a label write: lock the case, answer a repeated request id from its
    record, check the cells, the labeller and the view the call was made on, then write."""
    fingerprint = hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()
    with transaction.atomic():
        locked = _lock_open_case(case)
        if request_id:
            done = LabelRequest.objects.filter(user=user, request_id=request_id).first()
            if done is not None:
                return _replayed(done, fingerprint)
        values = resolve(locked)
        _require_cells_of_case(locked, list(values))
        reads_of, lead_override = _reads_of(locked, user)
        if seen is not None:
            _require_current(locked, user, reads_of, values, seen)
        batch = _labels_write(
            case=locked,
            user=user,
            values=values,
            action="label.set",
            reads_of=reads_of,
            lead_override=lead_override,
        )
        if request_id:
            _request_record(locked, user, request_id, fingerprint, batch)
    return batch


def _require_current(
    case: Case, user: Any, reads_of: Any, values: Mapping[int, str], seen: Mapping[int, Any]
) -> None:
    """Every cell must still show the label the page showed (as this user sees labels)."""
    current = selectors.cells_current_labels(cell_ids=list(values), user=reads_of)
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
        reads_of, _ = _reads_of(case, user)
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
            reads_of=reads_of,
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


def _labels_write(
    *,
    case: Case,
    user: Any,
    values: Mapping[int, str],
    action: str,
    undoes: str = "",
    reads_of: Any = None,
    lead_override: bool = False,
) -> LabelBatch:
    from allreview.audit.models import AuditEvent

    batch = uuid.uuid4().hex
    before = selectors.cells_current_labels(cell_ids=list(values), user=reads_of)
    labels = Label.objects.bulk_create(
        Label(cell_id=c, value=v, user=user) for c, v in values.items()
    )
    Case.objects.filter(pk=case.pk, status=CaseStatus.READY).update(status=CaseStatus.IN_REVIEW)
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
    return LabelBatch(batch=batch, changes=changes, labels=[label.pk for label in labels])
