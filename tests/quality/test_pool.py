"""The pool: only cells whose final label was settled by adjudication or two agreeing readers on
signed-off cases may join; leads choose them; every change is audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from allreview.audit.models import AuditEvent
from allreview.quality.models import ReferenceCell
from allreview.quality.selectors import reference_candidates
from allreview.quality.services import reference_cell_retire, reference_cells_add
from allreview.review.services.signoff import case_reopen
from tests.quality.helpers import login, upload


def test_candidates_are_settled_class_labels_of_signed_off_cases(qc):
    ids = list(qc.source.cells.order_by("id").values_list("id", flat=True))
    found = {c.cell_id: (c.answer, c.source) for c in reference_candidates(project=qc.project)}
    assert found == {
        ids[0]: ("all", "agreed"),
        ids[1]: ("all", "agreed"),
        ids[2]: ("all", "agreed"),
        ids[3]: ("hem", "agreed"),
        ids[4]: ("hem", "agreed"),
        ids[5]: ("hem", "agreed"),
        ids[6]: ("all", "adjudicated"),  # the readers disagreed; a lead settled it
    }  # ids[7]: both said unsure, which is no answer to grade by


def test_a_single_readers_label_or_an_open_case_is_no_candidate(qc):
    from allreview.review.services.labels import labels_set_bulk
    from allreview.review.services.signoff import case_sign_off
    from tests.quality.helpers import classify

    single = upload(qc.project, qc.ula, "SINGLE-1", 3, seed=900)
    classify(single, qc.version)
    ids = list(single.cells.values_list("id", flat=True))
    labels_set_bulk(case=single, user=qc.dora, values=dict.fromkeys(ids, "all"))
    case_sign_off(case=single, user=qc.dora)
    case_reopen(case=qc.source, user=qc.alice, reason="second look")
    assert reference_candidates(project=qc.project) == []


def test_a_lead_adds_candidates_audited_and_a_non_candidate_adds_nothing(qc):
    ids = list(qc.source.cells.order_by("id").values_list("id", flat=True))
    with pytest.raises(ValidationError, match=f"cell {ids[7]} cannot be a reference cell"):
        reference_cells_add(project=qc.project, user=qc.alice, cell_ids=[ids[0], ids[7]])
    assert not ReferenceCell.objects.exists()
    with pytest.raises(PermissionDenied):
        reference_cells_add(project=qc.project, user=qc.dora, cell_ids=[ids[0]])
    added = reference_cells_add(project=qc.project, user=qc.alice, cell_ids=[ids[0], ids[6]])
    assert [(r.answer, r.source) for r in added] == [("all", "agreed"), ("all", "adjudicated")]
    assert AuditEvent.objects.filter(action="quality.reference_add").count() == 2
    assert ids[0] not in {c.cell_id for c in reference_candidates(project=qc.project)}
    reference_cell_retire(reference=added[0], user=qc.alice)
    with pytest.raises(ValidationError, match="retired already"):
        reference_cell_retire(reference=added[0], user=qc.alice)
    assert AuditEvent.objects.filter(action="quality.reference_retire").count() == 1


def test_pool_page_adds_by_form_and_refuses_with_a_page(qc):
    ids = list(qc.source.cells.order_by("id").values_list("id", flat=True))
    lead = login(qc.alice)
    page = lead.get(f"/projects/{qc.project.pk}/quality/pool/").content.decode()
    assert f'value="{ids[0]}"' in page and f'value="{ids[7]}"' not in page
    refused = lead.post(f"/projects/{qc.project.pk}/quality/pool/add/", {"cells": [str(ids[7])]})
    assert refused.status_code == 400 and b"cannot be a reference cell" in refused.content
    response = lead.post(f"/projects/{qc.project.pk}/quality/pool/add/", {"cells": [str(ids[1])]})
    assert response.status_code == 302
    assert list(ReferenceCell.objects.values_list("cell_id", flat=True)) == [ids[1]]


def test_settings_are_for_admins_checked_and_audited(qc):
    admin, lead = login(qc.ivan), login(qc.alice)
    url = f"/projects/{qc.project.pk}/quality/settings/"
    good = {"enabled": "on", "rate": "0.03", "accuracy_floor": "0.9"}
    assert lead.post(url, good).status_code == 403
    bad = admin.post(url, {**good, "rate": "0.5"})
    assert bad.status_code == 400 and b"at most 0.2" in bad.content
    assert admin.post(url, {**good, "rate": "three"}).status_code == 400
    assert admin.post(url, good).status_code == 302
    event = AuditEvent.objects.get(action="quality.settings")
    assert event.before["enabled"] is False and event.after == {
        "enabled": True,
        "rate": 0.03,
        "accuracy_floor": 0.9,
    }
