"""The detection history starts with the rejections made before it: each becomes a `reject`
row with its reviewer, reason and time, and the label the cell had before (read from the
rejection's own label audit event), so a restore can put that label back."""

from __future__ import annotations

import pytest
from django.utils import timezone

from allreview.audit.models import AuditEvent
from allreview.fields.models import CellProvenance
from allreview.fields.segmentation import case_fields_segment
from tests.review.test_readers_migration import migrate

BEFORE = [("fields", "0001_initial")]
AFTER = [("fields", "0002_detection_review")]


@pytest.mark.django_db(transaction=True)
def test_rejections_made_before_the_history_are_copied_into_it(field_case, alice, sent):
    case_fields_segment(case_id=field_case.pk)
    first, second = CellProvenance.objects.order_by("id")[:2]
    try:
        old = migrate(BEFORE)
        AuditEvent.objects.create(  # the rejection's label (audit is not in fields 0001's state)
            action="label.set",
            actor_id=alice.pk,
            case_id=field_case.pk,
            target_type="cases.cell",
            target_id=str(first.cell_id),
            before={"label": "hem"},
            after={"label": "artifact", "batch": "b"},
        )
        when = timezone.now()
        provenance = old.get_model("fields", "CellProvenance")
        provenance.objects.filter(pk__in=[first.pk, second.pk]).update(
            rejected_at=when, rejected_by_id=alice.pk, reject_reason="debris"
        )
        new = migrate(AFTER)
        rows = new.get_model("fields", "DetectionReview").objects.order_by("provenance_id")
        assert [
            (r.provenance_id, r.kind, r.user_id, r.reason, r.label_before, r.created_at)
            for r in rows
        ] == [
            (first.pk, "reject", alice.pk, "debris", "hem", when),
            (second.pk, "reject", alice.pk, "debris", "", when),
        ]
    finally:
        migrate(None)
