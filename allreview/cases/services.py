"""Writes on cases: upload, retry and the send to classification. Views, the API and commands all
come through here; labelling is review's (`review.services`)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from functools import partial
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.cases import hooks, selectors, standins, tasks
from allreview.cases.ingest import (
    AcceptedImage,
    IncomingFile,
    checked_stream,
    expand_archives,
    ingest_pool,
)
from allreview.cases.models import (
    Case,
    CaseStatus,
    Cell,
    lapsed_claim,
    pseudonym_validator,
)
from allreview.cases.pseudonyms import validate_patient_code
from allreview.lib.cellstore import StoredFiles, files_removed_on_failure, image_files_store
from allreview.lib.queueing import enqueue_on_commit, task_send
from allreview.lib.thumbpack import thumbnail_pack
from allreview.lib.users import AnyUser
from allreview.projects.access import require
from allreview.projects.models import Project
from allreview.projects.permissions import Action

logger = logging.getLogger(__name__)


def validate_case_fields(*, patient_code: str, specimen_id: str) -> None:
    errors: dict[str, list[str]] = {}
    checks: list[tuple[str, str, Callable[[str], None]]] = [
        ("patient_code", patient_code, validate_patient_code)
    ]
    if specimen_id:
        checks.append(("specimen_id", specimen_id, pseudonym_validator))
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
    user: AnyUser,
    patient_code: str,
    specimen_id: str = "",
    files: list[IncomingFile],
    check_permission: bool = True,
) -> Case:
    """Check every file and store files and rows in one transaction, then queue classification.

    Each cell is stored as soon as its check (and those of the files before it) has finished,
    while later files are still being checked. Refused uploads raise UploadRejected (naming
    each bad file) once every file is checked, and nothing stays: the rows roll back and the
    files already stored are removed, as on any failure while writing, so no orphan stays on
    disk.
    """
    if check_permission:
        require(user=user, project_id=project.pk, action=Action.UPLOAD)
    validate_case_fields(patient_code=patient_code, specimen_id=specimen_id)
    with tempfile.TemporaryDirectory(
        prefix="allreview-upload-", dir=settings.FILE_UPLOAD_TEMP_DIR
    ) as workdir:
        checked = checked_stream(
            expand_archives(files, workdir=Path(workdir)),
            model_input=selectors.model_input_geometry(project=project),
        )
        return _case_store(
            project=project,
            user=user,
            patient_code=patient_code,
            specimen_id=specimen_id,
            checked=checked,
        )


def _case_store(
    *,
    project: Project,
    user: AnyUser,
    patient_code: str,
    specimen_id: str,
    checked: Iterator[AcceptedImage | None],
) -> Case:
    with files_removed_on_failure() as files, transaction.atomic():
        case = Case.objects.create(
            project=project,
            patient_code=patient_code,
            specimen_id=specimen_id,
            uploaded_by=user if isinstance(user, User) else None,
            status=CaseStatus.QUEUED,
        )
        accepted, fields, cells = _cells_store_as_checked(case, checked, files)
        Case.objects.filter(pk=case.pk).update(progress_total=len(cells))
        case.progress_total = len(cells)
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
            _fields_store(case, fields, files)
        # every thumbnail the gallery shows, the known-answer cells' too (else they would be
        # the ones fetched one by one)
        _thumbnail_pack_store(
            case=case,
            cells=cells,
            accepted=accepted,
            files=files,
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
        files.keep_on_commit()
        _case_enqueue_on_commit(case.pk)
    logger.info("case %s uploaded with %d cells", case.pk, len(accepted))
    return case


def _cells_store_as_checked(
    case: Case, checked: Iterator[AcceptedImage | None], files: StoredFiles
) -> tuple[list[AcceptedImage], list[AcceptedImage], list[Cell]]:
    """Store each accepted cell's files (in the ingest threads) as its check comes in; once a
    file is refused nothing more is stored, but every file is still checked so the refusal
    names them all (raised by `checked` after the last). Whole smear fields (issue 14) are
    kept for the fields app. Answers the accepted cell images, the fields and the unsaved
    Cell rows, in upload order."""
    accepted: list[AcceptedImage] = []
    fields: list[AcceptedImage] = []
    stores: list[Future[Cell]] = []
    refused = False
    with ingest_pool() as pool:
        for image in checked:
            if image is None:
                refused = True
            elif image.is_field:
                fields.append(image)
            elif not refused:
                accepted.append(image)
                stores.append(pool.submit(_cell_store, case=case, image=image, files=files))
        cells = [store.result() for store in stores]
    return accepted, fields, cells


def _fields_store(case: Case, fields: list[AcceptedImage], files: StoredFiles) -> None:
    store = hooks.field_intake()
    if store is None:  # the fields app is not installed
        raise ValidationError("whole smear fields are not accepted by this installation")
    store(case, fields, files)


def _cell_store(*, case: Case, image: AcceptedImage, files: StoredFiles) -> Cell:
    checked = image.checked
    with image.incoming.open() as original:  # streamed from disk, never whole in memory
        stored = image_files_store(
            files=files,
            base=f"cells/{case.project_id}/{case.pk}/{checked.sha256}",
            checked=checked,
            original=original,
        )
    return Cell(
        case=case,
        image=stored.image,
        thumbnail=stored.thumbnail,
        sha256=checked.sha256,
        size_bytes=checked.size,
        width=checked.width,
        height=checked.height,
        image_format=checked.format,
        original_name=image.incoming.name[-255:],
        truth=image.incoming.truth,
        model_input=stored.model_input,
        model_input_geometry=stored.model_input_geometry,
    )


def _thumbnail_pack_store(
    *,
    case: Case,
    cells: list[Cell],
    accepted: list[AcceptedImage],
    files: StoredFiles,
    stand_ins: list[Cell],
) -> None:
    """Every thumbnail of the case in one file, so the gallery paints from one request."""
    own = [(cell.pk, image.checked.thumbnail) for cell, image in zip(cells, accepted, strict=True)]
    borrowed = [(cell.pk, _storage_read(cell.thumbnail.name)) for cell in stand_ins]
    pack = thumbnail_pack(own + borrowed)
    name = files.save(f"cells/{case.project_id}/{case.pk}/{pack.file_name}", pack.data)
    Case.objects.filter(pk=case.pk).update(thumbnail_pack=name)
    case.thumbnail_pack.name = name


def _storage_read(name: str) -> bytes:
    with default_storage.open(name, "rb") as file:
        data: bytes = file.read()
    return data


QUEUE_UNREACHABLE_NOTICE = (
    "The task queue could not be reached; classification starts automatically within a few "
    "minutes of it coming back. Nothing needs to be uploaded again."
)


def case_enqueue(*, case_id: int) -> bool:
    """Send the case on now (the beat sweep, a finished segmentation); see `_case_send_recorded`.
    A step registered to come first (issue 14: its smear fields are segmented) is sent instead;
    a case queued at upload or retry goes to classification, whose worker asks the same step."""
    step = hooks.before_classify(case_id)
    sent = task_send(tasks.case_classify, case_id) if step is None else step
    _case_send_recorded(case_id, sent)
    return sent


def _case_enqueue_on_commit(case_id: int) -> None:
    enqueue_on_commit(tasks.case_classify, case_id, then=partial(_case_send_recorded, case_id))


def _case_send_recorded(case_id: int, sent: bool) -> None:
    """When the broker was down the case stays queued with a notice and no `enqueued_at`, which
    the beat sweep reads as "never sent" and sends again within a minute; the worker's claim
    makes a duplicate send harmless."""
    if sent:
        Case.objects.filter(pk=case_id).update(enqueued_at=timezone.now())
        Case.objects.filter(pk=case_id, status_detail=QUEUE_UNREACHABLE_NOTICE).update(
            status_detail=""
        )
        return
    Case.objects.filter(pk=case_id, status=CaseStatus.QUEUED).update(
        enqueued_at=None, status_detail=QUEUE_UNREACHABLE_NOTICE
    )


def cases_classify_waiting_enqueue(**_: object) -> bool:
    """Sweep the cases that waited for a production model now (on `production_model_changed`)."""
    return task_send(tasks.cases_classify_waiting)


def cases_reclassify_open(*, project_id: int) -> int:
    """Queue every open case of the project for reclassification by its production model (when
    the project's production model changed and its policy asks for it); how many were sent."""
    open_cases = Case.objects.filter(
        project_id=project_id, status__in=[CaseStatus.READY, CaseStatus.IN_REVIEW]
    ).values_list("pk", flat=True)
    return sum(task_send(tasks.case_reclassify, case_id) for case_id in open_cases)


def case_retry(*, case: Case, user: AnyUser) -> Case:
    """Queue a failed case again, or one whose worker died (its claim's lease lapsed); its
    predictions so far are kept (the task skips them)."""
    require(user=user, project_id=case.project_id, action=Action.RETRY)
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
        _case_enqueue_on_commit(case.pk)
    case.refresh_from_db()
    return case
