"""Relabelling: every call is a new Label row plus an AuditEvent; history is never rewritten."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from rest_framework.test import APIClient

from allreview.audit.models import AuditEvent
from allreview.cases.models import CaseStatus, Label
from allreview.lib.appendonly import AppendOnlyError
from allreview.projects.models import Role
from allreview.review.selectors.reading import case_cells
from allreview.review.services.labels import label_set
from tests.factories import CaseFactory, CellFactory, MembershipFactory, UserFactory


@pytest.fixture
def cell(lab_a):
    return CellFactory.create_for_case(CaseFactory(project=lab_a), 1)[0]


def test_relabel_keeps_history_and_the_newest_label_is_current(alice, cell):
    label_set(cell=cell, user=alice, value="all")
    label_set(cell=cell, user=alice, value="unsure")
    assert list(Label.objects.filter(cell=cell).values_list("value", flat=True)) == [
        "unsure",
        "all",
    ]
    assert case_cells(case=cell.case).get().current_label == "unsure"
    events = AuditEvent.objects.filter(action="label.set").order_by("id")
    assert [e.after["label"] for e in events] == ["all", "unsure"]
    assert events.last().before == {"label": "all"}


def test_first_label_moves_a_ready_case_into_review(alice, cell):
    label_set(cell=cell, user=alice, value="hem")
    cell.case.refresh_from_db()
    assert cell.case.status == CaseStatus.IN_REVIEW


def test_label_rows_cannot_be_changed_or_deleted(alice, cell):
    label = label_set(cell=cell, user=alice, value="all")
    label.value = "hem"
    with pytest.raises(AppendOnlyError):
        label.save()
    with pytest.raises(AppendOnlyError):
        Label.objects.filter(pk=label.pk).update(value="hem")
    with pytest.raises(AppendOnlyError):
        Label.objects.all().delete()
    assert Label.objects.get().value == "all"


def test_wrong_label_value_is_refused(alice, cell):
    with pytest.raises(ValidationError):
        label_set(cell=cell, user=alice, value="maybe")
    api = APIClient()
    api.force_authenticate(alice)
    response = api.post(f"/api/v1/cells/{cell.pk}/labels/", {"value": "maybe"})
    assert response.status_code == 400
    assert Label.objects.count() == 0


def test_signed_off_case_is_locked(alice, cell):
    cell.case.status = CaseStatus.SIGNED_OFF
    cell.case.save()
    with pytest.raises(ValidationError, match="locked"):
        label_set(cell=cell, user=alice, value="all")


def test_uploader_may_not_relabel(lab_a, cell):
    uploader = UserFactory(username="uma")
    MembershipFactory(project=lab_a, user=uploader, role=Role.UPLOADER)
    with pytest.raises(PermissionDenied):
        label_set(cell=cell, user=uploader, value="all")
    api = APIClient()
    api.force_authenticate(uploader)
    assert api.post(f"/api/v1/cells/{cell.pk}/labels/", {"value": "all"}).status_code == 403


def test_page_relabel_answers_json_to_fetch_and_redirects_forms(alice, cell):
    client = Client()
    client.force_login(alice)
    url = f"/cells/{cell.pk}/label/"
    response = client.post(url, {"value": "artifact"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201 and response.json()["value"] == "artifact"
    response = client.post(url, {"value": "hem"})
    assert response.status_code == 302
    refused = client.post(url, {"value": "bogus"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400
    assert Label.objects.count() == 2


def test_api_label_history_lists_every_call(alice, cell):
    api = APIClient()
    api.force_authenticate(alice)
    for value in ("all", "hem"):
        assert api.post(f"/api/v1/cells/{cell.pk}/labels/", {"value": value}).status_code == 201
    history = api.get(f"/api/v1/cells/{cell.pk}/labels/").json()
    assert [h["value"] for h in history] == ["hem", "all"]
    assert {h["user"] for h in history} == {"alice"}
