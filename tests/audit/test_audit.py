"""The audit trail is append-only at every level, and readable as a page and as CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from allreview.audit.models import AuditEvent
from allreview.audit.services import audit_record
from allreview.cases.models import Label
from allreview.lib.appendonly import AppendOnlyError
from allreview.projects.models import Role
from allreview.review.services.labels import label_set
from tests.factories import CaseFactory, CellFactory, MembershipFactory, UserFactory


@pytest.fixture
def labelled(lab_a, alice):
    case = CaseFactory(project=lab_a, patient_code="AUD-1")
    cell = CellFactory.create_for_case(case, 1)[0]
    label_set(cell=cell, user=alice, value="all")
    label_set(cell=cell, user=alice, value="hem")
    return case


@pytest.mark.parametrize("table", ["audit_auditevent", "cases_label"])
def test_database_refuses_to_update_or_delete_even_raw_sql(labelled, table):
    for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert Label.objects.count() == 2 and AuditEvent.objects.count() == 2


def test_model_layer_refuses_as_well(labelled):
    event = AuditEvent.objects.first()
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_admin_cannot_change_or_delete_audit_events(labelled, admin_client):
    event = AuditEvent.objects.first()
    assert admin_client.get(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    response = admin_client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"action": "x"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.action == "label.set"


def test_case_audit_page_and_csv_show_before_and_after(labelled, alice):
    client = Client()
    client.force_login(alice)
    page = client.get(f"/audit/cases/{labelled.pk}/").content.decode()
    assert "label.set" in page and "alice" in page
    response = client.get(f"/audit/cases/{labelled.pk}/?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    # a single relabel is a batch of one (undoable), named in its event
    assert [(json.loads(r["before"]), json.loads(r["after"])["label"]) for r in rows] == [
        ({"label": "all"}, "hem"),
        ({"label": None}, "all"),
    ]


def test_project_audit_lists_only_that_project(labelled, alice, lab_a, lab_b):
    audit_record(action="case.upload", project_id=lab_b.pk)
    client = Client()
    client.force_login(alice)
    response = client.get(f"/audit/projects/{lab_a.pk}/?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["action"] for r in rows} == {"label.set"}


def test_reviewers_and_outsiders_cannot_read_the_audit_trail(labelled, lab_a, charlie):
    reviewer = UserFactory(username="rita")
    MembershipFactory(project=lab_a, user=reviewer, role=Role.REVIEWER)
    for user, status in ((reviewer, 403), (charlie, 404)):
        client = Client()
        client.force_login(user)
        assert client.get(f"/audit/projects/{lab_a.pk}/").status_code == status
        assert client.get(f"/audit/cases/{labelled.pk}/").status_code == status


def test_failed_login_is_audited_without_the_password(db):
    Client().post("/login/", {"username": "mallory", "password": "secret-guess"})
    event = AuditEvent.objects.get(action="login.failed")
    assert event.after == {"username": "mallory"}
    assert "secret-guess" not in str(event.after)
