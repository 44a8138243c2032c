"""Sign-off snapshots and locks; reopening needs a lead and a reason; both audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from allreview.audit.models import AuditEvent
from allreview.cases.models import CaseStatus
from allreview.review.models import CaseReopening, SignOff
from allreview.review.services.labels import labels_set_bulk
from allreview.review.services.signoff import case_reopen, case_sign_off
from tests.helpers import cell_ids


def label_all(case, user, value: str = "hem") -> None:
    labels_set_bulk(case=case, user=user, values=dict.fromkeys(cell_ids(case), value))


def test_sign_off_is_refused_while_cells_are_unreviewed(dora, ready_case):
    labels_set_bulk(case=ready_case, user=dora, values={cell_ids(ready_case)[0]: "all"})
    with pytest.raises(ValidationError, match="9 cell"):
        case_sign_off(case=ready_case, user=dora)
    assert not SignOff.objects.exists()


def test_sign_off_snapshots_labels_counts_and_model_and_locks(dora, ready_case):
    label_all(ready_case, dora)
    sign_off = case_sign_off(case=ready_case, user=dora)
    ready_case.refresh_from_db()
    assert ready_case.status == CaseStatus.SIGNED_OFF
    snapshot = sign_off.snapshot
    assert snapshot["model_version"]["name"] == "m-ready"
    assert snapshot["counts"]["label_hem"] == 10 and snapshot["counts"]["predicted_all"] == 5
    assert set(snapshot["labels"].values()) == {"hem"} and len(snapshot["labels"]) == 10
    assert AuditEvent.objects.filter(action="case.sign_off", case_id=ready_case.pk).exists()
    with pytest.raises(ValidationError, match="locked"):
        labels_set_bulk(case=ready_case, user=dora, values={cell_ids(ready_case)[0]: "all"})


def test_unsure_cells_need_a_lead_and_a_reason(dora, alice, ready_case):
    label_all(ready_case, dora, "unsure")
    with pytest.raises(PermissionDenied):
        case_sign_off(case=ready_case, user=dora, exception_reason="poor smear")
    with pytest.raises(ValidationError):
        case_sign_off(case=ready_case, user=alice)
    sign_off = case_sign_off(case=ready_case, user=alice, exception_reason="poor smear")
    assert sign_off.exception_reason == "poor smear"


def test_reopen_needs_a_lead_and_a_reason_and_keeps_the_sign_off(dora, alice, ready_case):
    label_all(ready_case, dora)
    sign_off = case_sign_off(case=ready_case, user=dora)
    with pytest.raises(PermissionDenied):
        case_reopen(case=ready_case, user=dora, reason="second look")
    with pytest.raises(ValidationError):
        case_reopen(case=ready_case, user=alice, reason="  ")
    reopening = case_reopen(case=ready_case, user=alice, reason="second look")
    ready_case.refresh_from_db()
    assert ready_case.status == CaseStatus.IN_REVIEW
    assert reopening.sign_off == sign_off and SignOff.objects.get().snapshot == sign_off.snapshot
    assert AuditEvent.objects.get(action="case.reopen").after["reason"] == "second look"
    labels_set_bulk(case=ready_case, user=dora, values={cell_ids(ready_case)[0]: "all"})


def test_sign_off_page_flow_reports_refusals(client_dora, client_alice, dora, ready_case):
    url = f"/cases/{ready_case.pk}/sign-off/"
    response = client_dora.post(url)
    assert response.status_code == 400  # a page saying why, not a redirect with a message
    assert "Not signed off" in response.content.decode() and not SignOff.objects.exists()
    label_all(ready_case, dora)
    body = client_dora.post(url, follow=True).content.decode()
    assert "signed off and locked" in body and "Reopen case" not in body
    body = client_alice.get(f"/cases/{ready_case.pk}/").content.decode()
    assert "Reopen case" in body and 'data-locked="1"' in body
    again = client_dora.post(url)
    assert again.status_code == 409 and SignOff.objects.count() == 1
    refused = client_dora.post(f"/cases/{ready_case.pk}/reopen/", {"reason": "mine"})
    assert refused.status_code == 403 and "Not reopened" in refused.content.decode()
    client_alice.post(f"/cases/{ready_case.pk}/reopen/", {"reason": "check cell 3"})
    assert CaseReopening.objects.count() == 1
