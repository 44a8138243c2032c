"""API paging a client can use (issue 12, must-have 5): a 500-cell case in one call with
`?page_size=`, bounded at 1,000, and a cursor walk over a case's cells."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from allreview.api.pagination import MAX_PAGE_SIZE
from allreview.cases.models import Label
from tests.factories import CaseFactory, CellFactory, LabelFactory, ModelVersionFactory


@pytest.fixture
def api_alice(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def case_with_cells(project, n: int, code: str):
    case = CaseFactory(project=project, patient_code=code)
    cells = CellFactory.create_for_case(
        case, n, model_version=ModelVersionFactory(name=f"m-{code}")
    )
    user = project.memberships.first().user
    # some labels, so the current-label subquery has rows to find
    Label.objects.bulk_create(Label(cell=c, user=user, value="hem") for c in cells[::7])
    return case


def test_a_500_cell_case_lists_in_one_call_with_page_size_1000(api_alice, lab_a):
    case = case_with_cells(lab_a, 500, "P-500")
    body = api_alice.get(f"/api/v1/cases/{case.pk}/cells/?page_size=1000").json()
    assert body["count"] == 500
    assert len(body["results"]) == 500 and body["next"] is None
    assert len({c["id"] for c in body["results"]}) == 500
    assert {c["current_label"] for c in body["results"]} == {"hem", None}


def test_without_page_size_the_page_is_still_100_so_existing_clients_keep_working(api_alice, lab_a):
    case = case_with_cells(lab_a, 150, "P-150")
    body = api_alice.get(f"/api/v1/cases/{case.pk}/cells/").json()
    assert body["count"] == 150 and len(body["results"]) == 100
    second = api_alice.get(body["next"]).json()
    assert len(second["results"]) == 50 and second["next"] is None


def test_page_size_above_the_bound_is_clamped_to_1000(api_alice, lab_a, settings):
    assert MAX_PAGE_SIZE == 1000
    case = case_with_cells(lab_a, 1005, "P-1005")
    body = api_alice.get(f"/api/v1/cases/{case.pk}/cells/?page_size=100000").json()
    assert body["count"] == 1005 and len(body["results"]) == 1000
    assert "page_size=100000" in body["next"] and "page=2" in body["next"]
    cursor = api_alice.get(f"/api/v1/cases/{case.pk}/cells/?cursor=&page_size=5000").json()
    assert len(cursor["results"]) == 1000


def test_page_size_applies_to_other_lists_too(api_alice, lab_a):
    for i in range(3):
        CaseFactory(project=lab_a, patient_code=f"L-{i}")
    body = api_alice.get("/api/v1/cases/?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2


def test_a_cursor_walk_visits_every_cell_once_in_id_order(api_alice, lab_a, lab_b, bob):
    case = case_with_cells(lab_a, 230, "C-230")
    case_with_cells(lab_b, 20, "C-OTHER")  # another lab's cells never appear in the walk
    seen: list[int] = []
    url = f"/api/v1/cases/{case.pk}/cells/?cursor=&page_size=100"
    pages = 0
    while url:
        response = api_alice.get(url)
        assert response.status_code == 200
        body = response.json()
        assert "count" not in body  # a cursor page costs no COUNT
        seen += [c["id"] for c in body["results"]]
        url = body["next"]
        pages += 1
    assert pages == 3
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 230
    assert set(seen) == set(case.cells.values_list("id", flat=True))


def test_a_cursor_walk_neither_skips_nor_repeats_cells_relabelled_between_pages(
    api_alice, lab_a, alice
):
    case = case_with_cells(lab_a, 30, "C-RELABEL")
    first = api_alice.get(f"/api/v1/cases/{case.pk}/cells/?cursor=&page_size=10").json()
    for cell in case.cells.all():
        LabelFactory(cell=cell, user=alice, value="all")
    ids = [c["id"] for c in first["results"]]
    url = first["next"]
    while url:
        body = api_alice.get(url).json()
        ids += [c["id"] for c in body["results"]]
        assert all(c["current_label"] == "all" for c in body["results"])
        url = body["next"]
    assert ids == sorted(set(ids)) and len(ids) == 30


@pytest.mark.parametrize("cursor", ["cD1hYmM=", "not-base64!", "cD0tMQ=="])  # p=abc, p=-1
def test_a_forged_cursor_is_404_not_a_server_error(api_alice, lab_a, cursor):
    case = case_with_cells(lab_a, 3, "C-FORGED")
    response = api_alice.get(f"/api/v1/cases/{case.pk}/cells/?cursor={cursor}")
    assert response.status_code == 404


@pytest.mark.parametrize("paging", ["page_size=1000", "cursor=&page_size=1000"])
def test_queries_per_call_do_not_grow_with_the_number_of_cells(
    api_alice, lab_a, paging, django_assert_num_queries
):
    small = case_with_cells(lab_a, 5, "Q-5")
    large = case_with_cells(lab_a, 500, "Q-500")
    api_alice.get(f"/api/v1/cases/{small.pk}/cells/?{paging}")  # session and caches warm
    with CaptureQueriesContext(connection) as baseline:
        assert api_alice.get(f"/api/v1/cases/{small.pk}/cells/?{paging}").status_code == 200
    with django_assert_num_queries(len(baseline.captured_queries)):
        body = api_alice.get(f"/api/v1/cases/{large.pk}/cells/?{paging}").json()
    assert len(body["results"]) == 500


def test_each_listed_cell_is_exactly_the_cell_detail(api_alice, lab_a):
    case = case_with_cells(lab_a, 12, "EQ-12")
    case.cells.filter(pk__in=list(case.cells.values_list("pk", flat=True)[:4])).update(truth="all")
    listed = api_alice.get(f"/api/v1/cases/{case.pk}/cells/?page_size=1000").json()["results"]
    assert len(listed) == 12
    for row in listed:
        assert row == api_alice.get(f"/api/v1/cells/{row['id']}/").json()
    assert {row["truth"] for row in listed} <= {"all", "", None}
