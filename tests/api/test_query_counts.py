"""API lists cost a fixed number of queries however many rows they list (token clients: no
session lookups)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import CaseFactory, CellFactory, LabelFactory, ModelVersionFactory


@pytest.fixture(params=[3, 30], ids=["3 cases", "30 cases"])
def api_world(request, lab_a, alice):
    version = ModelVersionFactory(project=lab_a)
    cases = []
    for _ in range(request.param):
        case = CaseFactory(project=lab_a)
        cells = CellFactory.create_for_case(case, 5, model_version=version)
        LabelFactory(cell=cells[0], user=alice)
        cases.append(case)
    api = APIClient()
    api.force_authenticate(alice)
    return api, cases


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        ("/api/v1/projects/", 2),  # count, page
        ("/api/v1/cases/", 2),  # count, page with its per-case counts as subqueries
        ("/api/v1/predictions/", 2),
        ("/api/v1/models/", 3),  # membership, count, page
    ],
)
def test_api_lists(api_world, url, queries, django_assert_num_queries):
    api, _ = api_world
    with django_assert_num_queries(queries):
        response = api.get(url)
    assert response.status_code == 200 and response.json()["count"] > 0


def test_api_cells_of_a_case(api_world, django_assert_num_queries):
    api, cases = api_world
    with django_assert_num_queries(6):  # 5, + reader QC's stand-ins check in the reading view
        response = api.get(f"/api/v1/cases/{cases[0].pk}/cells/")
    assert response.status_code == 200 and response.json()["count"] == 5


def test_api_label_history(api_world, django_assert_num_queries):
    api, cases = api_world
    cell = cases[0].cells.first()
    with django_assert_num_queries(5):  # 4, + reader QC's stand-ins check in the reading view
        assert api.get(f"/api/v1/cells/{cell.pk}/labels/").status_code == 200
