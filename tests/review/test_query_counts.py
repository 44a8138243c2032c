"""The review pages cost a fixed number of queries however many cases and cells there are: a
page that queried per row would show here first (session, user and membership lookups included)."""

from __future__ import annotations

import pytest

from tests.factories import CaseFactory, CellFactory, LabelFactory, ModelVersionFactory


@pytest.fixture(params=[3, 30], ids=["3 cases of 5 cells", "30 cases of 5 cells"])
def many_cases(request, lab_a, alice):
    version = ModelVersionFactory(project=lab_a)
    cases = []
    for _ in range(request.param):
        case = CaseFactory(project=lab_a)
        cells = CellFactory.create_for_case(case, 5, model_version=version)
        LabelFactory(cell=cells[0], user=alice)
        cases.append(case)
    return cases


def test_worklist_queries(client_alice, many_cases, django_assert_num_queries):
    with django_assert_num_queries(7):
        assert client_alice.get("/").status_code == 200


def test_case_page_with_its_gallery_json_queries(
    client_alice, many_cases, django_assert_num_queries
):
    # 9, + reader QC's stand-ins check in the reading view, + the FHIR panel, + the case's
    # smear fields (review.hooks): one query each
    with django_assert_num_queries(12):
        assert client_alice.get(f"/cases/{many_cases[0].pk}/").status_code == 200


@pytest.mark.parametrize("n_cells", [5, 200])
def test_case_page_queries_do_not_grow_with_cells(
    client_alice, lab_a, n_cells, django_assert_num_queries
):
    case = CaseFactory(project=lab_a)
    CellFactory.create_for_case(case, n_cells, model_version=ModelVersionFactory())
    with django_assert_num_queries(12):
        assert client_alice.get(f"/cases/{case.pk}/").status_code == 200


def test_cell_view_json_queries(client_alice, many_cases, django_assert_num_queries):
    cell = many_cases[0].cells.first()
    with django_assert_num_queries(9):  # 7, + reader QC's stand-ins check, + the cell's field
        assert client_alice.get(f"/cells/{cell.pk}/panel/").status_code == 200
