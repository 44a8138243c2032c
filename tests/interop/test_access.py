"""Access to the reports beyond the permission matrix (whose case is open): a signed case's
report for every role, the 409 without ?status=preliminary, and who may send it again."""

from __future__ import annotations

import pytest

from allreview.audit.models import AuditEvent
from allreview.interop.models import FhirPush
from allreview.interop.services import fhir_endpoint_set
from tests.interop.helpers import login


@pytest.fixture
def pushing(lab_a, admin_a):
    fhir_endpoint_set(
        project=lab_a, user=admin_a, base_url="http://127.0.0.1:9/fhir", push_enabled=True
    )


def test_open_case_report_is_409_for_members_and_404_for_outsiders(open_case, uma, dora, bob):
    url = f"/api/v1/cases/{open_case.pk}/fhir/"
    assert login(uma).get(url).status_code == 409
    assert login(dora).get(url).status_code == 409
    assert login(bob).get(url).status_code == 404
    assert login(bob).get(f"/cases/{open_case.pk}/report/").status_code == 404


def test_signed_case_report_for_every_member(signed_case, uma, dora, alice, admin_a, charlie):
    for user in (uma, dora, alice, admin_a):
        assert login(user).get(f"/api/v1/cases/{signed_case.pk}/fhir/").status_code == 200
        assert login(user).get(f"/cases/{signed_case.pk}/report/").status_code == 200
    assert login(charlie).get(f"/api/v1/cases/{signed_case.pk}/fhir/").status_code == 404


def test_unauthenticated_api_client_gets_401(signed_case, client):
    assert client.get(f"/api/v1/cases/{signed_case.pk}/fhir/").status_code == 401


@pytest.mark.usefixtures("pushing")
@pytest.mark.parametrize(
    "who, status", [("bob", 404), ("uma", 403), ("dora", 403), ("alice", 302), ("admin_a", 302)]
)
def test_sending_again_is_for_leads(request, signed_case, who, status, monkeypatch):
    monkeypatch.setattr("allreview.interop.tasks.fhir_push_send.delay", lambda push_id: None)
    user = request.getfixturevalue(who)
    response = login(user).post(f"/cases/{signed_case.pk}/fhir/push/")
    assert response.status_code == status
    made = FhirPush.objects.filter(case=signed_case).exists()
    audited = AuditEvent.objects.filter(action="case.fhir_push").exists()
    assert made == audited == (status == 302)


def test_sending_an_open_case_is_refused(open_case, alice, pushing):
    response = login(alice).post(f"/cases/{open_case.pk}/fhir/push/")
    assert response.status_code == 400 and not FhirPush.objects.exists()


def test_sending_without_a_server_is_refused(signed_case, alice):
    response = login(alice).post(f"/cases/{signed_case.pk}/fhir/push/")
    assert response.status_code == 400 and "no FHIR server" in response.content.decode()
