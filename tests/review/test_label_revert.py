"""label_revert: another app takes back a label it wrote (a field's rejection restored), only
while the cell still shows it; an audited label write like any other, undoable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from allreview.audit.models import AuditEvent
from allreview.cases.models import CaseStatus, Label
from allreview.review.errors import CaseLocked
from allreview.review.selectors.gallery import case_current_labels
from allreview.review.services.labels import label_revert, label_set, label_undo
from tests.helpers import cell_ids


def test_a_label_still_shown_is_put_back_and_the_write_is_audited(dora, ready_case):
    cell = ready_case.cells.get(pk=cell_ids(ready_case)[0])
    label_set(cell=cell, user=dora, value="artifact")
    batch = label_revert(
        case=ready_case, user=dora, cell_id=cell.pk, expected="artifact", value="hem"
    )
    assert batch is not None and case_current_labels(case=ready_case)[cell.pk] == "hem"
    event = AuditEvent.objects.get(action="label.set", after__batch=batch.batch)
    assert event.before == {"label": "artifact"} and event.after["label"] == "hem"
    label_undo(case=ready_case, user=dora, batch=batch.batch)  # undo works on it as on any
    assert case_current_labels(case=ready_case)[cell.pk] == "artifact"


def test_none_clears_the_label_and_a_label_changed_since_is_left_alone(dora, ready_case):
    first, second = (ready_case.cells.get(pk=i) for i in cell_ids(ready_case)[:2])
    label_set(cell=first, user=dora, value="artifact")
    assert label_revert(
        case=ready_case, user=dora, cell_id=first.pk, expected="artifact", value=None
    )
    assert case_current_labels(case=ready_case).get(first.pk) is None
    label_set(cell=second, user=dora, value="all")
    kept = label_revert(
        case=ready_case, user=dora, cell_id=second.pk, expected="artifact", value=None
    )
    assert kept is None and Label.objects.filter(cell=second).count() == 1


def test_revert_is_refused_like_any_label_write(dora, ready_case):
    cell_id = cell_ids(ready_case)[0]
    with pytest.raises(ValidationError):
        label_revert(case=ready_case, user=dora, cell_id=cell_id, expected="artifact", value="x")
    ready_case.status = CaseStatus.SIGNED_OFF
    ready_case.save(update_fields=["status"])
    with pytest.raises(CaseLocked):
        label_revert(case=ready_case, user=dora, cell_id=cell_id, expected="", value="hem")
