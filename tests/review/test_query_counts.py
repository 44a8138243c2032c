"""The review pages cost a fixed number of queries however many cases and cells there are: a
page that queried per row would show here first (session, user and membership lookups included)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

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
    # the FHIR panel and the case's smear fields (review.hooks) are one query each; the role
    # and the reading view (readers, stand-ins) come with the case's row (12 when apart)
    with django_assert_num_queries(9):
        assert client_alice.get(f"/cases/{many_cases[0].pk}/").status_code == 200


@pytest.mark.parametrize("n_cells", [5, 200])
def test_case_page_queries_do_not_grow_with_cells(
    client_alice, lab_a, n_cells, django_assert_num_queries
):
    case = CaseFactory(project=lab_a)
    CellFactory.create_for_case(case, n_cells, model_version=ModelVersionFactory())
    with django_assert_num_queries(9):
        assert client_alice.get(f"/cases/{case.pk}/").status_code == 200


def test_cell_view_json_queries(client_alice, many_cases, django_assert_num_queries):
    cell = many_cases[0].cells.first()
    # the role and the reading view come with the cell's row (9 when apart); + the cell's field
    with django_assert_num_queries(6) as captured:
        response = client_alice.get(f"/cells/{cell.pk}/panel/")
    assert response.status_code == 200
    assert response.json()["prediction"]["model"] == cell.predictions.get().model_version.name
    # the model facts come as four values and a name, not the version's JSON metrics
    assert not any('"metrics"' in q["sql"] for q in captured.captured_queries)


@pytest.mark.parametrize("kind", ["thumbnail", "image"])
def test_a_cell_file_costs_the_session_the_user_and_one_narrow_query(
    client_alice, many_cases, kind, django_assert_num_queries
):
    cell = many_cases[0].cells.first()
    default_storage.save(getattr(cell, kind).name, ContentFile(b"bytes of the file"))
    with django_assert_num_queries(3) as captured:
        response = client_alice.get(f"/cells/{cell.pk}/{kind}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"bytes of the file"
    # the access rule's query, narrowed: no case, project or model rows come with the cell
    cell_query = captured.captured_queries[-1]["sql"]
    assert "cases_cell" in cell_query and "projects_project" not in cell_query
    assert '"cases_case"."patient_code"' not in cell_query
