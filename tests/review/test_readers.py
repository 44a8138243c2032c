"""Several readers per case: leads assign them, later readers are blinded, a blinded reader sees
only their own labels (and, if the project says so, not the model's call) on every surface."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from allreview.audit.models import AuditEvent
from allreview.cases.models import Prediction
from allreview.review.models import CaseReader
from allreview.review.selectors.worklist import worklist_for_user
from allreview.review.services.labels import labels_set_bulk
from allreview.review.services.readers import case_reader_add, case_reader_remove
from allreview.review.summary import case_summary
from tests.factories import CaseFactory
from tests.helpers import cell_ids
from tests.review.test_pages import gallery_rows


def readers(case) -> list[tuple[str, bool]]:
    return list(CaseReader.objects.filter(case=case).values_list("user__username", "blinded"))


def test_lead_assigns_two_readers_and_the_second_is_blinded_by_default(double_read):
    assert readers(double_read) == [("dora", False), ("erin", True)]


def test_project_setting_leaves_second_readers_unblinded(ready_case, alice, dora, erin, lab_a):
    lab_a.blind_second_reads = False
    lab_a.save()
    case_reader_add(case=ready_case, user=alice, reader=dora)
    case_reader_add(case=ready_case, user=alice, reader=erin)
    assert readers(ready_case) == [("dora", False), ("erin", False)]


def test_reviewer_may_take_only_a_case_nobody_reads_and_never_assign_others(
    ready_case, alice, dora, erin
):
    with pytest.raises(PermissionDenied):
        case_reader_add(case=ready_case, user=dora, reader=erin)
    case_reader_add(case=ready_case, user=dora, reader=dora)
    with pytest.raises(PermissionDenied):
        case_reader_add(case=ready_case, user=erin, reader=erin)
    with pytest.raises(PermissionDenied):
        case_reader_remove(case=ready_case, user=erin, reader=dora)
    with pytest.raises(ValidationError, match="already reads"):
        case_reader_add(case=ready_case, user=alice, reader=dora)
    assert readers(ready_case) == [("dora", False)]


def test_assignments_are_audited_with_readers_before_and_after(double_read, alice, erin):
    case_reader_remove(case=double_read, user=alice, reader=erin)
    events = AuditEvent.objects.filter(action="case.assign", case_id=double_read.pk).order_by("id")
    assert [(e.before["readers"], e.after["readers"]) for e in events] == [
        ([], ["dora"]),
        (["dora"], ["dora", "erin"]),
        (["dora", "erin"], ["dora"]),
    ]
    assert events[1].after["blinded"] is True and events[2].actor == alice


def test_lead_assigns_a_reader_from_the_case_page(client_alice, ready_case, dora, erin):
    client_alice.post(f"/cases/{ready_case.pk}/readers/", {"reader": dora.pk})
    client_alice.post(f"/cases/{ready_case.pk}/readers/", {"reader": erin.pk, "blinded": "no"})
    assert readers(ready_case) == [("dora", False), ("erin", False)]
    body = client_alice.get(f"/cases/{ready_case.pk}/").content.decode()
    assert "read by dora, erin" in body and "Assign reader" in body


def test_worklist_mine_lists_the_cases_i_read_among_several_readers(double_read, erin, lab_a):
    CaseFactory(project=lab_a, patient_code="FREE")
    assert [c.patient_code for c in worklist_for_user(user=erin, scope="mine")] == ["READY-1"]
    assert {c.patient_code for c in worklist_for_user(user=erin)} == {"READY-1", "FREE"}
    assert [c.patient_code for c in worklist_for_user(user=erin, scope="unassigned")] == ["FREE"]


def test_blinded_reader_sees_only_own_labels_in_gallery_panel_and_api(
    double_read, dora, client_dora, client_erin, erin
):
    first = cell_ids(double_read)[0]
    labels_set_bulk(case=double_read, user=dora, values={first: "all"})
    url = f"/cases/{double_read.pk}/"
    assert {r[0]: r[4] for r in gallery_rows(client_erin.get(url))}[first] is None
    assert client_erin.get(f"/cells/{first}/panel/").json()["history"] == []
    api_cells = client_erin.get(f"/api/v1/cases/{double_read.pk}/cells/").json()["results"]
    assert {c["id"]: c["current_label"] for c in api_cells}[first] is None
    assert client_erin.get(f"/api/v1/cells/{first}/").json()["current_label"] is None
    assert client_erin.get(f"/api/v1/cells/{first}/labels/").json() == []
    labels_set_bulk(case=double_read, user=erin, values={first: "hem"})
    assert {r[0]: r[4] for r in gallery_rows(client_erin.get(url))}[first] == "hem"
    assert [h["user"] for h in client_erin.get(f"/cells/{first}/panel/").json()["history"]] == [
        "erin"
    ]
    # the first, unblinded reader keeps her own read and sees both in the history
    assert {r[0]: r[4] for r in gallery_rows(client_dora.get(url))}[first] == "all"
    panel = client_dora.get(f"/cells/{first}/panel/").json()
    assert [h["user"] for h in panel["history"]] == ["erin", "dora"]
    assert panel["reads"] == {"dora": "all", "erin": "hem"} and panel["final"] is None


def test_blinded_reader_counts_and_summary_use_own_reads(double_read, dora, erin):
    labels_set_bulk(case=double_read, user=dora, values=dict.fromkeys(cell_ids(double_read), "all"))
    assert case_summary(case=double_read, user=erin).counts["reviewed"] == 0
    assert case_summary(case=double_read, user=dora).counts["reviewed"] == 10
    rows = {c.patient_code: c for c in worklist_for_user(user=erin)}
    assert rows["READY-1"].n_reviewed == 0
    assert {c.patient_code: c.n_reviewed for c in worklist_for_user(user=dora)}["READY-1"] == 10


def test_blinding_hides_the_model_call_only_when_the_project_says_so(
    double_read, client_erin, client_dora, lab_a
):
    first = cell_ids(double_read)[-1]
    url = f"/cases/{double_read.pk}/"
    assert gallery_rows(client_erin.get(url))[0][3] == "all"  # the default shows the model
    lab_a.blind_model_call = True
    lab_a.save()
    rows = gallery_rows(client_erin.get(url))
    assert [r[0] for r in rows] == cell_ids(double_read)  # upload order: no order by the model
    assert {(r[1], r[2], r[3]) for r in rows} == {(None, None, None)}
    assert client_erin.get(f"/cells/{first}/panel/").json()["prediction"] is None
    api_cells = client_erin.get(f"/api/v1/cases/{double_read.pk}/cells/").json()["results"]
    assert {c["predicted_label"] for c in api_cells} == {None}
    assert client_erin.get(f"/api/v1/predictions/?cell={first}").json()["results"] == []
    accept = client_erin.post(
        f"/cases/{double_read.pk}/labels/",
        {"cells": [first], "value": "model"},
        content_type="application/json",
    )
    assert accept.status_code == 403
    assert client_erin.post(f"/cells/{first}/saliency/").status_code == 404
    assert "Blast fraction, model" not in client_erin.get(url).content.decode()
    # the unblinded first reader still sees the model's call
    assert client_dora.get(f"/cells/{first}/panel/").json()["prediction"]["label"] == "all"
    assert Prediction.objects.filter(cell_id=first).exists()


def test_only_readers_label_a_double_read_case(double_read, alice, client_alice):
    first = cell_ids(double_read)[0]
    with pytest.raises(PermissionDenied, match="double-read"):
        labels_set_bulk(case=double_read, user=alice, values={first: "all"})
    response = client_alice.post(
        f"/cases/{double_read.pk}/labels/",
        {"cells": [first], "value": "all"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert client_alice.post(f"/api/v1/cells/{first}/labels/", {"value": "all"}).status_code == 403
