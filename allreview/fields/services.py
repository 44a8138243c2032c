"""Reviewer writes on fields: reject a detection, take a rejection back, add a cell the
segmentation missed. All are audited like labels, refused on a signed-off case and by roles that
may not label."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.cases.models import Case, CaseStatus, Cell, LabelValue
from allreview.cases.selectors import model_input_geometry
from allreview.fields import tasks
from allreview.fields.crops import cell_from_detection, field_pixels
from allreview.fields.models import (
    CellOrigin,
    CellProvenance,
    DetectionReview,
    DetectionReviewKind,
    Field,
    FieldStatus,
)
from allreview.fields.scale import project_cell_diameter
from allreview.lib.cellstore import files_removed_on_failure
from allreview.lib.queueing import enqueue_on_commit
from allreview.lib.users import AnyUser, signed_in
from allreview.projects.access import require
from allreview.projects.permissions import Action
from allreview.review.errors import CaseLocked
from allreview.review.services.labels import label_revert, labels_set_bulk

if TYPE_CHECKING:
    import numpy as np

    from smear.masks import Box
    from smear.segment import Detection

logger = logging.getLogger(__name__)

MAX_REASON = 200


def detection_reject(*, cell: Cell, user: AnyUser, reason: str = "") -> CellProvenance:
    """Mark a detected cell as not a cell (artefact, debris, a red cell): the cell gets an
    `artifact` label through the ordinary label path (so sign-off counts it as reviewed and
    undo works); its provenance says it is rejected, and a DetectionReview row keeps who
    rejected it, why, and the label it had before (what a restore puts back)."""
    require(user=user, project_id=cell.case.project_id, action=Action.LABEL)
    reason = reason.strip()[:MAX_REASON]
    with transaction.atomic():
        provenance = _provenance_locked(cell)
        if provenance.rejected_at is not None:
            raise ValidationError("this detection was rejected already")
        batch = labels_set_bulk(case=cell.case, user=user, values={cell.pk: LabelValue.ARTIFACT})
        provenance.rejected_at = timezone.now()
        provenance.rejected_by = signed_in(user)
        provenance.reject_reason = reason
        provenance.save(update_fields=["rejected_at", "rejected_by", "reject_reason"])
        DetectionReview.objects.create(
            provenance=provenance,
            kind=DetectionReviewKind.REJECT,
            user=provenance.rejected_by,
            reason=reason,
            label_before=batch.changes[0].before or "",
        )
        audit_record(
            action="field.detection_reject",
            actor=user,
            project_id=cell.case.project_id,
            case_id=cell.case_id,
            target=cell,
            after={"field": provenance.field_id, "reason": reason},
        )
    return provenance


def detection_restore(*, cell: Cell, user: AnyUser) -> CellProvenance:
    """Take a rejection back: the detection is a cell after all. The rejection's `artifact`
    label gives way to the label the cell had before it (none: unreviewed again); a cell
    relabelled since keeps that later label. Who rejected it and why stay in its
    DetectionReview rows; this restore is one more."""
    require(user=user, project_id=cell.case.project_id, action=Action.LABEL)
    with transaction.atomic():
        provenance = _provenance_locked(cell)
        if provenance.rejected_at is None:
            raise ValidationError("this detection is not rejected")
        rejection = provenance.reviews.filter(kind=DetectionReviewKind.REJECT).last()
        before = rejection.label_before if rejection is not None else ""
        written = label_revert(
            case=cell.case,
            user=user,
            cell_id=cell.pk,
            expected=LabelValue.ARTIFACT,
            value=before or None,
        )
        rejected = {"by": provenance.rejected_by_id, "reason": provenance.reject_reason}
        provenance.rejected_at, provenance.rejected_by, provenance.reject_reason = None, None, ""
        provenance.save(update_fields=["rejected_at", "rejected_by", "reject_reason"])
        DetectionReview.objects.create(
            provenance=provenance,
            kind=DetectionReviewKind.RESTORE,
            user=signed_in(user),
        )
        audit_record(
            action="field.detection_restore",
            actor=user,
            project_id=cell.case.project_id,
            case_id=cell.case_id,
            target=cell,
            before={"rejected": rejected},
            after={
                "field": provenance.field_id,
                **({"label": before or None} if written is not None else {"label_kept": True}),
            },
        )
    return provenance


def _provenance_locked(cell: Cell) -> CellProvenance:
    provenance = CellProvenance.objects.select_for_update().filter(cell=cell).first()
    if provenance is None:
        raise ValidationError("this cell was not found in a field")
    return provenance


def field_cell_add(*, field: Field, user: AnyUser, x: int, y: int) -> Cell:
    """A cell the segmentation missed, where the reviewer clicked: the field is segmented again
    around the point; the region found becomes a cell like a detected one (origin `added`),
    audited, and is classified by a worker with the case's model."""
    from smear.masks import Box, rle_decode
    from smear.segment import SegmentConfig, segment_at

    require(user=user, project_id=field.case.project_id, action=Action.LABEL)
    if field.status != FieldStatus.DONE:
        raise ValidationError("the field is not segmented yet")
    if not (0 <= x < field.width and 0 <= y < field.height):
        raise ValidationError(f"({x}, {y}) is outside the {field.width}x{field.height} field")
    diameter = field.cell_diameter or project_cell_diameter(project_id=field.case.project_id)
    rgb = field_pixels(field)
    detection = segment_at(rgb, x, y, SegmentConfig(cell_diameter=diameter))
    if detection is None:
        raise ValidationError(
            f"no white cell found at ({x}, {y}): click inside the cell's stained body"
        )
    for other in CellProvenance.objects.filter(field=field, rejected_at__isnull=True):
        box = Box(other.x0, other.y0, other.x1, other.y1)
        if box.intersection(detection.box) and _overlap(rle_decode(other.mask), box, detection):
            raise ValidationError(f"that cell is already outlined (cell {other.cell_id})")
    return _added_store(field, user, rgb, detection, diameter, x, y)


def _overlap(mask: np.ndarray, box: Box, detection: Detection) -> bool:
    from smear.masks import mask_iou

    return mask_iou(mask, box, detection.mask, detection.box) >= 0.5


def _added_store(
    field: Field,
    user: AnyUser,
    rgb: np.ndarray,
    detection: Detection,
    diameter: float,
    x: int,
    y: int,
) -> Cell:
    geometry = model_input_geometry(project=field.case.project_id)
    with files_removed_on_failure() as files, transaction.atomic():
        case = Case.objects.select_for_update().get(pk=field.case_id)
        if case.status == CaseStatus.SIGNED_OFF:
            raise CaseLocked()
        index = CellProvenance.objects.filter(field=field).count() + 1
        new = cell_from_detection(
            field=field,
            rgb=rgb,
            detection=detection,
            index=index,
            cell_diameter=diameter,
            files=files,
            model_input=geometry,
            origin=CellOrigin.ADDED,
            added_by=user,
        )
        if Cell.objects.filter(case=case, sha256=new.cell.sha256).exists():
            raise ValidationError("that cell is already in the case")
        new.cell.save()
        new.provenance.cell = new.cell
        new.provenance.save()
        audit_record(
            action="field.cell_add",
            actor=user,
            project_id=case.project_id,
            case_id=case.pk,
            target=new.cell,
            after={"field": field.pk, "at": [x, y], "box": new.provenance.box},
        )
        enqueue_on_commit(tasks.cell_classify, new.cell.pk)
    return new.cell
