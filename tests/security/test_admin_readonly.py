"""The Django admin cannot rewrite what was signed or audited, and what it may change is audited.

A staff superuser (root) drives the real admin forms: a signed-off case keeps its status,
project and patient code; a cell keeps its case and truth and cannot be deleted; membership and
gate-threshold changes leave audit events with the project.
"""

from __future__ import annotations

import pytest
from django.test import Client

from allreview.audit.models import AuditEvent
from allreview.cases.models import Case, CaseStatus, Cell
from allreview.projects.models import Membership, Role
from allreview.review.models import SignOff
from allreview.training.models import TrainingPolicy
from tests.factories import CaseFactory, CellFactory, UserFactory


@pytest.fixture
def root(db) -> Client:
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def signed_case(lab_a, alice) -> Case:
    case = CaseFactory(project=lab_a, patient_code="SIGNED-1", status=CaseStatus.SIGNED_OFF)
    CellFactory.create_for_case(case, 2)
    SignOff.objects.create(case=case, user=alice, snapshot={"cells": {}})
    return case


def change_form(client: Client, url: str) -> dict[str, str]:
    """The admin change form's current values, as the browser would post them back."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        data[name] = "" if value is None else (value.pk if hasattr(value, "pk") else value)
    return data


def test_a_signed_off_case_keeps_status_project_and_patient_code(root, signed_case, lab_b):
    url = f"/admin/cases/case/{signed_case.pk}/change/"
    data = change_form(root, url)
    data.update(status="ready", project=lab_b.pk, patient_code="RENAMED", specimen_id="S-9")
    response = root.post(url, data)
    assert response.status_code in {200, 302}
    signed_case.refresh_from_db()
    assert (signed_case.status, signed_case.project_id, signed_case.patient_code) == (
        CaseStatus.SIGNED_OFF,
        signed_case.project_id,
        "SIGNED-1",
    )
    assert signed_case.project_id != lab_b.pk


def test_an_open_case_cannot_be_moved_to_another_project_or_given_a_status(root, lab_a, lab_b):
    case = CaseFactory(project=lab_a, patient_code="OPEN-1", status=CaseStatus.READY)
    url = f"/admin/cases/case/{case.pk}/change/"
    data = change_form(root, url)
    data.update(status="signed_off", project=lab_b.pk, patient_code="OPEN-2")
    assert root.post(url, data).status_code == 302
    case.refresh_from_db()
    assert (case.project_id, case.status, case.patient_code) == (lab_a.pk, "ready", "OPEN-2")
    event = AuditEvent.objects.get(action="admin.case.change")
    assert (event.project_id, event.case_id) == (lab_a.pk, case.pk)
    assert event.before == {"patient_code": "OPEN-1"} and event.after == {"patient_code": "OPEN-2"}


def test_a_signed_off_case_cannot_be_deleted(root, signed_case):
    assert root.get(f"/admin/cases/case/{signed_case.pk}/delete/").status_code == 403
    assert root.post(f"/admin/cases/case/{signed_case.pk}/delete/", {"post": "yes"}).status_code
    assert Case.objects.filter(pk=signed_case.pk).exists()


def test_a_cell_keeps_its_case_and_truth_and_cannot_be_deleted(root, signed_case, lab_a):
    cell = signed_case.cells.first()
    other = CaseFactory(project=lab_a, patient_code="OTHER-1")
    url = f"/admin/cases/cell/{cell.pk}/change/"
    assert root.get(url).status_code == 200  # visible
    root.post(
        url, {"case": other.pk, "truth": "all", "original_name": "x.png", "image_format": "png"}
    )
    assert root.post(f"/admin/cases/cell/{cell.pk}/delete/", {"post": "yes"}).status_code == 403
    fresh = Cell.objects.get(pk=cell.pk)
    assert (fresh.case_id, fresh.truth) == (cell.case_id, cell.truth)


def test_membership_changes_in_the_admin_are_audited(root, lab_a, alice):
    dora = UserFactory(username="dora")
    add = root.post(
        "/admin/projects/membership/add/",
        {"user": dora.pk, "project": lab_a.pk, "role": Role.REVIEWER},
    )
    assert add.status_code == 302
    membership = Membership.objects.get(user=dora)
    root.post(
        f"/admin/projects/membership/{membership.pk}/change/",
        {"user": dora.pk, "project": lab_a.pk, "role": Role.ADMIN},
    )
    root.post(f"/admin/projects/membership/{membership.pk}/delete/", {"post": "yes"})
    assert not Membership.objects.filter(user=dora).exists()
    events = list(AuditEvent.objects.filter(action__startswith="admin.membership.").order_by("id"))
    assert [e.action for e in events] == [
        "admin.membership.add",
        "admin.membership.change",
        "admin.membership.delete",
    ]
    assert all(e.project_id == lab_a.pk and e.actor.username == "root" for e in events)
    assert events[1].before == {"role": "reviewer"} and events[1].after == {"role": "admin"}


def test_membership_changes_through_the_project_inline_are_audited(root, lab_a, alice):
    membership = Membership.objects.get(user=alice, project=lab_a)
    data = {
        "name": lab_a.name,
        "description": lab_a.description,
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-0-id": membership.pk,
        "memberships-0-project": lab_a.pk,
        "memberships-0-user": alice.pk,
        "memberships-0-role": Role.UPLOADER,
    }
    if lab_a.blind_second_reads:
        data["blind_second_reads"] = "on"
    response = root.post(f"/admin/projects/project/{lab_a.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.get(action="admin.membership.change")
    assert event.project_id == lab_a.pk and event.after == {"role": "uploader"}


def test_gate_threshold_changes_in_the_admin_are_audited(root, lab_a):
    policy = TrainingPolicy.objects.create(project=lab_a)
    url = f"/admin/training/trainingpolicy/{policy.pk}/change/"
    data = change_form(root, url)
    data["sensitivity_floor"] = 0.5
    assert root.post(url, data).status_code == 302
    event = AuditEvent.objects.get(action="admin.trainingpolicy.change")
    assert event.project_id == lab_a.pk
    assert event.after == {"sensitivity_floor": 0.5}
