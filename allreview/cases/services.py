"""Writes on cases: upload, relabel, retry. Views, the API and commands all come through here."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.cases.ingest import (
    AcceptedImage,
    IncomingFile,
    check_files,
    expand_archives,
    ingest_pool,
)
from allreview.cases.models import Case, CaseStatus, Cell, Label, LabelValue, pseudonym_validator
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
    for field_name, value in (("patient_code", patient_code), ("specimen_id", specimen_id)):
        if not value and field_name == "specimen_id":
            continue
        try:
            pseudonym_validator(value)
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
    accepted = check_files(expand_archives(files))
    stored: list[str] = []
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
            audit_record(
                action="case.upload",
                actor=user,
                project_id=project.pk,
                case_id=case.pk,
                target=case,
                after={"cells": len(cells)},
            )
            transaction.on_commit(lambda: case_enqueue(case_id=case.pk))
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    logger.info("case %s uploaded with %d cells", case.pk, len(accepted))
    return case


def _cell_store(*, case: Case, image: AcceptedImage, stored: list[str]) -> Cell:
    checked = image.checked
    base = f"cells/{case.project_id}/{case.pk}/{checked.sha256}"
    image_name = _storage_put(f"{base}.{EXTENSION_BY_FORMAT[checked.format]}", image.incoming.data)
    stored.append(image_name)
    thumb_name = _storage_put(f"{base}.thumb.jpg", checked.thumbnail)
    stored.append(thumb_name)
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
    )


def _storage_put(name: str, data: bytes) -> str:
    return default_storage.save(name, ContentFile(data))


def case_enqueue(*, case_id: int) -> None:
    from allreview.cases.tasks import case_classify

    Case.objects.filter(pk=case_id).update(enqueued_at=timezone.now())
    case_classify.delay(case_id)


def label_set(*, cell: Cell, user: Any, value: str) -> Label:
    """Record a reviewer's call as a new Label row (the history stays) and audit it."""
    case = cell.case
    require_role(user=user, project_id=case.project_id, action=Action.LABEL)
    if value not in LabelValue.values:
        raise ValidationError(
            {"value": [f"{value!r} is not one of {', '.join(LabelValue.values)}"]}
        )
    if case.status == CaseStatus.SIGNED_OFF:
        raise ValidationError("the case is signed off and locked")
    with transaction.atomic():
        before = Label.objects.filter(cell=cell).values_list("value", flat=True).first()
        label = Label.objects.create(cell=cell, value=value, user=user)
        if case.status == CaseStatus.READY:
            Case.objects.filter(pk=case.pk, status=CaseStatus.READY).update(
                status=CaseStatus.IN_REVIEW
            )
        audit_record(
            action="label.set",
            actor=user,
            project_id=case.project_id,
            case_id=case.pk,
            target=cell,
            before={"label": before},
            after={"label": value},
        )
    return label


def case_retry(*, case: Case, user: Any) -> Case:
    """Queue a failed case again; its predictions so far are kept (the task skips them)."""
    require_role(user=user, project_id=case.project_id, action=Action.RETRY)
    with transaction.atomic():
        updated = Case.objects.filter(pk=case.pk, status=CaseStatus.FAILED).update(
            status=CaseStatus.QUEUED, status_detail=""
        )
        if not updated:
            raise ValidationError("only a failed case can be retried")
        audit_record(
            action="case.retry",
            actor=user,
            project_id=case.project_id,
            case_id=case.pk,
            target=case,
        )
        transaction.on_commit(lambda: case_enqueue(case_id=case.pk))
    case.refresh_from_db()
    return case
