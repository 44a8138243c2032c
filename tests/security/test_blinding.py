"""Hostile cases against blinding and assignment: a blinded reader trying every path to the
imported truth and the other reads, a blinded reader giving their read back, a lead assigned as
a blinded reader reaching other reads through the queue, exports and audit, and a reviewer who
does not read a taken case trying to label or sign it."""

from __future__ import annotations

import csv
import io
import json

import pytest

from allreview.audit.models import AuditEvent
from allreview.cases.models import Cell, Label
from allreview.review.models import CaseReader, SignOff
from allreview.review.services.labels import labels_set_bulk
from allreview.review.services.readers import case_assign, case_reader_add
from tests.helpers import cell_ids, login


@pytest.fixture
def with_truth(ready_case):
    Cell.objects.filter(case=ready_case).update(truth="all")
    return ready_case


def body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_a_blinded_reader_never_gets_the_imported_truth(
    with_truth, double_read, client_erin, client_dora
):
    first = cell_ids(double_read)[0]
    api_cells = client_erin.get(f"/api/v1/cases/{double_read.pk}/cells/").json()["results"]
    assert {c["truth"] for c in api_cells} == {None}
    assert client_erin.get(f"/api/v1/cells/{first}/").json()["truth"] is None
    assert '"truth"' not in client_erin.get(f"/cells/{first}/panel/").content.decode()
    # the unblinded first reader is not affected
    assert client_dora.get(f"/api/v1/cells/{first}/").json()["truth"] == "all"


def test_a_blinded_reader_cannot_give_their_read_back_on_any_path(double_read, erin, client_erin):
    before = (CaseReader.objects.count(), AuditEvent.objects.count())
    page = client_erin.post(f"/cases/{double_read.pk}/assign/", {})
    assert page.status_code == 403 and "blinded" in page.content.decode()
    assert client_erin.post(f"/cases/{double_read.pk}/readers/{erin.pk}/remove/").status_code == 403
    assert (CaseReader.objects.count(), AuditEvent.objects.count()) == before
    # so the other reads stay hidden from her
    assert client_erin.get(f"/cells/{cell_ids(double_read)[0]}/panel/").json()["blinded"] is True


def test_a_lead_assigned_blinded_sees_no_other_read_through_queue_exports_or_audit(
    ready_case, alice, dora, lena, client_lena, lab_a
):
    Cell.objects.filter(case=ready_case).update(truth="all")
    case_reader_add(case=ready_case, user=alice, reader=dora)
    case_reader_add(case=ready_case, user=alice, reader=lena)
    first = cell_ids(ready_case)[0]
    labels_set_bulk(case=ready_case, user=dora, values={first: "all"})
    labels_set_bulk(case=ready_case, user=lena, values={first: "hem"})  # a dispute
    queue = client_lena.get(f"/projects/{lab_a.pk}/adjudication/").content.decode()
    assert f"dispute-{first}" not in queue and "dora" not in queue
    adjudicate = client_lena.post(
        f"/cells/{first}/adjudicate/", {"value": "hem", "seen": ""}, HTTP_ACCEPT="application/json"
    )
    assert adjudicate.status_code == 403
    rows = list(
        csv.DictReader(io.StringIO(body(client_lena.get(f"/exports/{lab_a.pk}/cells.csv"))))
    )
    assert {r.get("reader:dora", "") for r in rows} == {""}
    assert {r["imported_truth"] for r in rows} == {""}
    exported = json.loads(body(client_lena.get(f"/exports/{lab_a.pk}/cells.json")))
    assert exported[0]["labels"] == {"lena": "hem"}
    audit = csv.DictReader(
        io.StringIO(body(client_lena.get(f"/audit/cases/{ready_case.pk}/?format=csv")))
    )
    assert {row["actor"] for row in audit} == {"lena"}  # her own reads only, while it is open
    agreement = client_lena.get(f"/projects/{lab_a.pk}/agreement/?format=csv")
    assert "dora" not in body(agreement)
    # another lead, not reading the case, still sees everything
    client_alice = login(alice)
    assert (
        f"dispute-{first}"
        in client_alice.get(f"/projects/{lab_a.pk}/adjudication/").content.decode()
    )


def test_a_reviewer_who_does_not_read_a_taken_case_cannot_label_or_sign_it(
    ready_case, dora, erin, client_erin, client_alice
):
    case_assign(case=ready_case, user=dora, assignee=dora)
    labels_set_bulk(case=ready_case, user=dora, values=dict.fromkeys(cell_ids(ready_case), "hem"))
    first = cell_ids(ready_case)[0]
    before = (Label.objects.count(), AuditEvent.objects.count(), SignOff.objects.count())
    assert client_erin.post(f"/cells/{first}/label/", {"value": "all"}).status_code == 403
    fetch = client_erin.post(
        f"/cases/{ready_case.pk}/labels/",
        json.dumps({"cells": [first], "value": "all"}),
        content_type="application/json",
    )
    assert fetch.status_code == 403 and "only its reader" in fetch.json()["detail"]
    assert client_erin.post(f"/api/v1/cells/{first}/labels/", {"value": "all"}).status_code == 403
    sign = client_erin.post(f"/cases/{ready_case.pk}/sign-off/")
    assert sign.status_code == 403 and "Not signed off" in sign.content.decode()
    assert (Label.objects.count(), AuditEvent.objects.count(), SignOff.objects.count()) == before
    # a lead may step in on a single-read case, and it is audited as such
    response = client_alice.post(
        f"/cases/{ready_case.pk}/labels/",
        json.dumps({"cells": [first], "value": "all"}),
        content_type="application/json",
    )
    assert response.status_code == 201
    event = AuditEvent.objects.filter(action="label.set").latest("id")
    assert event.after["lead_override"] is True
    client_alice.post(f"/cases/{ready_case.pk}/sign-off/")
    signed = AuditEvent.objects.get(action="case.sign_off")
    assert signed.after["lead_override"] is True
