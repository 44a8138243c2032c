"""Bulk relabel and undo through the case page's JSON endpoints: append-only, audited, atomic."""

from __future__ import annotations

import json

import pytest

from allreview.audit.models import AuditEvent
from allreview.cases.models import CaseStatus, Label
from allreview.projects.models import Role
from allreview.review.selectors.gallery import case_current_labels
from tests.factories import CaseFactory, MembershipFactory, UserFactory
from tests.helpers import cell_ids, login


def post(client, url: str, payload: dict):
    return client.post(url, json.dumps(payload), content_type="application/json")


def relabel(client, case, cells: list[int], value: str):
    return post(client, f"/cases/{case.pk}/labels/", {"cells": cells, "value": value})


def test_bulk_relabel_writes_one_label_and_one_audit_event_per_cell(client_dora, ready_case):
    ids = cell_ids(ready_case)[:4]
    response = relabel(client_dora, ready_case, ids, "unsure")
    assert response.status_code == 201
    data = response.json()
    assert [c["cell"] for c in data["changes"]] == ids
    assert all(c["before"] is None and c["after"] == "unsure" for c in data["changes"])
    assert Label.objects.filter(cell_id__in=ids, value="unsure").count() == 4
    events = AuditEvent.objects.filter(action="label.set", after__batch=data["batch"])
    assert sorted(int(e.target_id) for e in events) == ids
    assert "Unsure" in data["summary_html"] and data["open_cells"] == 10
    ready_case.refresh_from_db()
    assert ready_case.status == CaseStatus.IN_REVIEW


def test_enter_accepts_the_models_call_for_each_cell(client_dora, ready_case):
    ids = cell_ids(ready_case)
    payload = {"cells": ids, "value": "model", "model_version": ready_case.model_version_id}
    assert post(client_dora, f"/cases/{ready_case.pk}/labels/", payload).status_code == 201
    labels = case_current_labels(case=ready_case)
    assert [labels[i] for i in ids] == ["hem"] * 5 + ["all"] * 5


def test_relabel_of_another_cases_cell_writes_nothing(client_dora, ready_case, lab_a):
    other = CaseFactory(project=lab_a)
    from tests.factories import CellFactory

    foreign = CellFactory.create_for_case(other, 1)[0].pk
    response = relabel(client_dora, ready_case, [cell_ids(ready_case)[0], foreign], "all")
    assert response.status_code == 400
    assert Label.objects.count() == 0 and AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"cells": [], "value": "all"},
        {"cells": ["1"], "value": "all"},
        {"cells": [1], "value": "maybe"},
        {"value": "all"},
    ],
)
def test_bad_relabel_requests_are_refused(client_dora, ready_case, payload):
    if payload.get("cells") == [1]:
        payload = {**payload, "cells": cell_ids(ready_case)[:1]}
    assert post(client_dora, f"/cases/{ready_case.pk}/labels/", payload).status_code == 400
    assert Label.objects.count() == 0


def test_uploader_may_see_but_not_label_and_outsider_sees_nothing(ready_case, lab_a, charlie):
    uploader = UserFactory(username="ursula")
    MembershipFactory(project=lab_a, user=uploader, role=Role.UPLOADER)
    ids = cell_ids(ready_case)[:1]
    assert relabel(login(uploader), ready_case, ids, "all").status_code == 403
    assert relabel(login(charlie), ready_case, ids, "all").status_code == 404
    assert Label.objects.count() == 0


def test_undo_restores_previous_values_and_clears_first_labels(client_dora, ready_case):
    first, second = cell_ids(ready_case)[:2]
    relabel(client_dora, ready_case, [first], "hem")
    batch = relabel(client_dora, ready_case, [first, second], "artifact").json()["batch"]
    response = post(client_dora, f"/cases/{ready_case.pk}/labels/undo/", {"batch": batch})
    assert response.status_code == 200
    labels = case_current_labels(case=ready_case)
    assert labels[first] == "hem" and labels[second] is None  # cleared: unreviewed again
    assert Label.objects.filter(cell_id=second).count() == 2  # nothing deleted
    assert AuditEvent.objects.filter(action="label.undo", after__undoes=batch).count() == 2


def test_undo_twice_or_after_a_later_change_is_refused(client_dora, client_alice, ready_case):
    cell = cell_ids(ready_case)[0]
    batch = relabel(client_dora, ready_case, [cell], "all").json()["batch"]
    relabel(client_alice, ready_case, [cell], "hem")
    url = f"/cases/{ready_case.pk}/labels/undo/"
    refused = post(client_dora, url, {"batch": batch})
    assert refused.status_code == 400 and "relabelled since" in refused.json()["detail"]
    own = relabel(client_dora, ready_case, [cell], "unsure").json()["batch"]
    assert post(client_dora, url, {"batch": own}).status_code == 200
    assert post(client_dora, url, {"batch": own}).status_code == 400


def test_nobody_undoes_another_reviewers_action(client_dora, client_alice, ready_case):
    batch = relabel(client_dora, ready_case, cell_ids(ready_case)[:1], "all").json()["batch"]
    response = post(client_alice, f"/cases/{ready_case.pk}/labels/undo/", {"batch": batch})
    assert response.status_code == 400


def test_signed_off_case_refuses_relabel_and_undo(client_dora, ready_case):
    batch = relabel(client_dora, ready_case, cell_ids(ready_case)[:1], "all").json()["batch"]
    type(ready_case).objects.filter(pk=ready_case.pk).update(status=CaseStatus.SIGNED_OFF)
    refused = relabel(client_dora, ready_case, cell_ids(ready_case)[:1], "hem")
    assert refused.status_code == 409 and "reopen" in refused.json()["detail"]
    url = f"/cases/{ready_case.pk}/labels/undo/"
    assert post(client_dora, url, {"batch": batch}).status_code == 409
    assert Label.objects.count() == 1


def test_cleared_cells_count_as_unreviewed_in_gallery_filter(client_dora, ready_case):
    from tests.review.test_pages import gallery_rows

    cell = cell_ids(ready_case)[0]
    batch = relabel(client_dora, ready_case, [cell], "all").json()["batch"]
    post(client_dora, f"/cases/{ready_case.pk}/labels/undo/", {"batch": batch})
    rows = gallery_rows(client_dora.get(f"/cases/{ready_case.pk}/?show=unreviewed"))
    assert len(rows) == 10 and cell in [r[0] for r in rows]


def test_gallery_filters_disagreement_unsure_and_artifacts(client_dora, ready_case):
    from tests.review.test_pages import gallery_rows

    ids = cell_ids(ready_case)  # first five are predicted hem
    relabel(client_dora, ready_case, ids[:2], "all")  # disagree
    relabel(client_dora, ready_case, ids[2:3], "hem")  # agree
    relabel(client_dora, ready_case, ids[3:4], "unsure")
    relabel(client_dora, ready_case, ids[4:5], "artifact")

    def shown(show: str) -> set[int]:
        url = f"/cases/{ready_case.pk}/?show={show}"
        return {r[0] for r in gallery_rows(client_dora.get(url))}

    assert shown("disagree") == set(ids[:2])
    assert shown("unsure") == {ids[3]}
    assert shown("artifact") == {ids[4]}
    assert shown("unreviewed") == set(ids[5:])


def test_a_relabel_asks_the_database_as_often_for_one_cell_as_for_five(
    client_dora, ready_case, django_assert_num_queries
):
    # Under load every round trip waits for a CPU: the write reads each thing once. The case
    # is found under the access rule, locked, and read with the user's role and reading view
    # (readers, known-answer cells) in one query (15 when those were four); then the request
    # id, the labels it replaces, three INSERTs and the answer's summary.
    ids = cell_ids(ready_case)
    relabel(client_dora, ready_case, ids[:1], "all")  # the case is in review from here on
    for cells in (ids[1:2], ids[2:7]):
        payload = {
            "cells": cells,
            "value": "hem",
            "seen": dict.fromkeys(map(str, cells)),
            "request_id": f"r-{cells[0]}",
        }
        with django_assert_num_queries(11):
            assert post(client_dora, f"/cases/{ready_case.pk}/labels/", payload).status_code == 201
