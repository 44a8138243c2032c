"""The `segmentation` step on a worker: before a case with fields is classified, every field is
claimed, segmented and cut into cells, one field per transaction, so a redelivered or retried
task redoes only the fields that are not done. When the last field is done the case goes on to
classification."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from allreview.cases.models import Case, CaseStatus, Cell
from allreview.cases.selectors import model_input_geometry
from allreview.fields import tasks
from allreview.fields.crops import cell_from_detection, field_pixels
from allreview.fields.models import CellProvenance, Field, FieldStatus
from allreview.fields.scale import project_cell_diameter
from allreview.lib.cellstore import files_removed_on_failure
from allreview.lib.queueing import task_send

logger = logging.getLogger(__name__)


def case_segment_send(case_id: int) -> bool | None:
    """The hook before classification: None when every field of the case is segmented (or it
    has none), else whether the segmentation task was sent."""
    if not Field.objects.filter(case_id=case_id).exclude(status=FieldStatus.DONE).exists():
        return None
    return task_send(tasks.case_segment, case_id)


def _claimable(now: datetime) -> Q:
    lapsed = now - timedelta(seconds=settings.FIELD_SEGMENT_LEASE_SECONDS)
    return Q(status__in=[FieldStatus.PENDING, FieldStatus.FAILED]) | Q(
        status=FieldStatus.SEGMENTING, claimed_at__lt=lapsed
    )


def field_claim(*, field_id: int) -> datetime | None:
    """Take a field for this worker (conditional UPDATE); its claim time, or None when it is
    done or another live worker has it."""
    now = timezone.now()
    claimed = Field.objects.filter(_claimable(now), pk=field_id).update(
        status=FieldStatus.SEGMENTING, claimed_at=now, status_detail=""
    )
    return now if claimed else None


def case_fields_segment(*, case_id: int) -> None:
    """Segment the fields of a queued case that are not done yet, then send it to classification
    (case_enqueue: the hook finds nothing left, so classification is sent)."""
    from allreview.cases.services import case_enqueue

    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        logger.info("case %s is gone", case_id)
        return
    if case.status != CaseStatus.QUEUED:
        logger.info("case %s is %s: nothing to segment", case_id, case.status)
        return
    diameter = project_cell_diameter(project_id=case.project_id)
    todo = list(
        Field.objects.filter(case_id=case_id)
        .exclude(status=FieldStatus.DONE)
        .values_list("pk", flat=True)
    )
    for number, field_id in enumerate(todo, start=1):
        claimed_at = field_claim(field_id=field_id)
        if claimed_at is None:
            continue
        Case.objects.filter(pk=case_id, status=CaseStatus.QUEUED).update(
            status_detail=f"Finding cells in the fields: field {number} of {len(todo)}."
        )
        if not _field_segment_or_fail(case_id, field_id, claimed_at, diameter):
            return
    if Field.objects.filter(case_id=case_id).exclude(status=FieldStatus.DONE).exists():
        return  # another worker still has a field; it sends the case on when done
    Case.objects.filter(pk=case_id).update(status_detail="")
    case_enqueue(case_id=case_id)


def _field_segment_or_fail(
    case_id: int, field_id: int, claimed_at: datetime, diameter: float
) -> bool:
    try:
        found = field_segment(field_id=field_id, claimed_at=claimed_at, cell_diameter=diameter)
    except SoftTimeLimitExceeded:
        _fail(case_id, field_id, "Finding cells took longer than the time limit; retry it.")
        raise
    except Exception as exc:
        logger.exception("segmentation of field %s (case %s) failed", field_id, case_id)
        _fail(case_id, field_id, f"Finding cells in a field failed: {type(exc).__name__}: {exc}")
        return False
    logger.info("field %s of case %s: %d cells", field_id, case_id, found)
    return True


def _fail(case_id: int, field_id: int, reason: str) -> None:
    Field.objects.filter(pk=field_id).update(status=FieldStatus.FAILED, status_detail=reason)
    Case.objects.filter(pk=case_id).update(status=CaseStatus.FAILED, status_detail=reason)


def field_segment(*, field_id: int, claimed_at: datetime, cell_diameter: float) -> int:
    """Find the field's white cells and store each as a Cell with its provenance, all in one
    transaction with the field marked done (under our claim only). Returns the cells found."""
    from smear.segment import SegmentConfig, segment_field

    field = Field.objects.select_related("case").get(pk=field_id)
    rgb = field_pixels(field)
    detections = segment_field(rgb, SegmentConfig(cell_diameter=cell_diameter))
    geometry = model_input_geometry(project=field.case.project_id)
    try:
        with files_removed_on_failure() as files, transaction.atomic():
            known = set(Cell.objects.filter(case_id=field.case_id).values_list("sha256", flat=True))
            made = []
            for index, detection in enumerate(detections, start=1):
                new = cell_from_detection(
                    field=field,
                    rgb=rgb,
                    detection=detection,
                    index=index,
                    cell_diameter=cell_diameter,
                    files=files,
                    model_input=geometry,
                    detections=detections,
                )
                if new.cell.sha256 in known:  # the same crop twice: one cell, no spare files
                    cell = new.cell
                    files.discard(cell.image.name, cell.thumbnail.name, cell.model_input.name)
                    continue
                known.add(new.cell.sha256)
                made.append(new)
            cells = Cell.objects.bulk_create([m.cell for m in made])
            for new, cell in zip(made, cells, strict=True):
                new.provenance.cell = cell
            CellProvenance.objects.bulk_create([m.provenance for m in made])
            done = Field.objects.filter(
                pk=field_id, status=FieldStatus.SEGMENTING, claimed_at=claimed_at
            ).update(
                status=FieldStatus.DONE,
                segmented_at=timezone.now(),
                cell_diameter=cell_diameter,
                cells_found=len(made),
            )
            if not done:  # our claim lapsed and another worker took the field over
                raise _ClaimLost()
    except _ClaimLost:
        return 0  # its files were removed on the way out
    return len(made)


class _ClaimLost(Exception):
    pass


def cell_classify(*, cell_id: int) -> None:
    """Predict a cell a reviewer added to a case that was already classified, with the case's
    model version; a case not classified yet classifies it with the rest."""
    from allreview.cases.classification import predictions_store
    from allreview.mlmodels.runtime import predictor_for

    cell = Cell.objects.filter(pk=cell_id).select_related("case__model_version").first()
    if cell is None or cell.case.model_version is None:
        return
    version = cell.case.model_version
    if cell.predictions.filter(model_version=version).exists():
        return
    predictions_store(
        predictor=predictor_for(version), model_version=version, cells=[(cell.pk, cell.image.name)]
    )
