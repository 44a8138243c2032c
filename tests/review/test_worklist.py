"""Worklist: cases I read and the unassigned ones, with counts from aggregate subqueries."""

from __future__ import annotations

from allreview.review.models import CaseReader
from allreview.review.selectors.worklist import worklist_for_user
from allreview.review.services.labels import labels_set_bulk
from allreview.review.services.readers import case_assign
from tests.factories import CaseFactory, CellFactory, ModelVersionFactory
from tests.helpers import cell_ids


def codes(cases) -> list[str]:
    return [c.patient_code for c in cases]


def test_available_scope_shows_mine_and_unassigned_not_others(alice, dora, lab_a):
    mine = CaseFactory(project=lab_a, patient_code="MINE")
    free = CaseFactory(project=lab_a, patient_code="FREE")
    taken = CaseFactory(project=lab_a, patient_code="TAKEN")
    case_assign(case=mine, user=dora, assignee=dora)
    case_assign(case=taken, user=alice, assignee=alice)
    assert set(codes(worklist_for_user(user=dora))) == {"MINE", "FREE"}
    assert codes(worklist_for_user(user=dora, scope="mine")) == ["MINE"]
    assert codes(worklist_for_user(user=dora, scope="unassigned")) == ["FREE"]
    assert len(worklist_for_user(user=dora, scope="all")) == 3
    assert free.pk and taken.pk


def test_worklist_percentages_and_sorting(dora, lab_a):
    model = ModelVersionFactory()
    low = CaseFactory(project=lab_a, patient_code="LOW")
    CellFactory.create_for_case(low, 10, model_version=model)  # 5 of 10 predicted blasts
    high = CaseFactory(project=lab_a, patient_code="HIGH")
    cells = CellFactory.create_for_case(high, 2, model_version=model)
    from allreview.cases.models import Prediction

    Prediction.objects.filter(cell__in=cells).update(label="all")
    labels_set_bulk(case=low, user=dora, values=dict.fromkeys(cell_ids(low)[:3], "hem"))
    rows = {c.patient_code: c for c in worklist_for_user(user=dora)}
    assert (rows["LOW"].n_cells, rows["LOW"].n_predicted_blasts, rows["LOW"].n_reviewed) == (
        10,
        5,
        3,
    )
    assert (rows["HIGH"].n_cells, rows["HIGH"].n_predicted_blasts) == (2, 2)
    assert codes(worklist_for_user(user=dora, sort="-blast")) == ["HIGH", "LOW"]
    assert codes(worklist_for_user(user=dora, sort="reviewed")) == ["HIGH", "LOW"]
    assert codes(worklist_for_user(user=dora, query="hi")) == ["HIGH"]


def test_take_button_assigns_and_reviewer_cannot_take_from_others(client_dora, dora, alice, lab_a):
    case = CaseFactory(project=lab_a)
    client_dora.post(f"/cases/{case.pk}/assign/", {"take": "1"})
    assert CaseReader.objects.get(case=case).user == dora
    other = CaseFactory(project=lab_a)
    case_assign(case=other, user=alice, assignee=alice)
    response = client_dora.post(f"/cases/{other.pk}/assign/", {"take": "1"}, follow=True)
    assert "only an adjudicator" in response.content.decode()
    assert CaseReader.objects.get(case=other).user == alice


def test_worklist_page_lists_columns(client_dora, lab_a):
    CellFactory.create_for_case(
        CaseFactory(project=lab_a, patient_code="COL-1"), 10, model_version=ModelVersionFactory()
    )
    body = client_dora.get("/?sort=-blast").content.decode()
    assert (
        "COL-1" in body and "50.0%" in body and "Take" in body and 'aria-sort="descending"' in body
    )
