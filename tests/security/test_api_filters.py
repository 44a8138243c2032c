"""API filters answer another lab's id exactly as they answer an id that does not exist.

Before, `?project=<B>` gave 200 with an empty list while `?project=<missing>` gave 400 "Select a
valid choice": enough to enumerate which ids exist in other labs.
"""

from __future__ import annotations

import pytest
from django.test import Client

from allreview.cases.models import Cell, Prediction
from tests.factories import CaseFactory, CellFactory, ModelVersionFactory

MISSING = 987654321


@pytest.fixture
def world(lab_a, lab_b, alice):
    case_a = CaseFactory(project=lab_a, patient_code="A-1")
    CellFactory.create_for_case(case_a, 2, model_version=ModelVersionFactory(name="m-a"))
    case_b = CaseFactory(project=lab_b, patient_code="B-1")
    version_b = ModelVersionFactory(name="m-b")
    CellFactory.create_for_case(case_b, 2, model_version=version_b)
    cell_b = Cell.objects.filter(case=case_b).first()
    client = Client()
    client.force_login(alice)
    return {
        "client": client,
        "case_a": case_a,
        "ids": {
            ("cases", "project"): lab_b.pk,
            ("predictions", "cell"): cell_b.pk,
            ("predictions", "cell__case"): case_b.pk,
            ("predictions", "model_version"): version_b.pk,
        },
    }


PARAMS = [
    ("cases", "project"),
    ("predictions", "cell"),
    ("predictions", "cell__case"),
    ("predictions", "model_version"),
]


@pytest.mark.parametrize(("resource", "param"), PARAMS)
def test_another_labs_id_answers_like_a_missing_id(world, resource, param):
    client = world["client"]
    foreign = client.get(f"/api/v1/{resource}/", {param: world["ids"][(resource, param)]})
    missing = client.get(f"/api/v1/{resource}/", {param: MISSING})
    assert foreign.status_code == missing.status_code == 200
    assert (
        foreign.json()
        == missing.json()
        == {
            "count": 0,
            "next": None,
            "previous": None,
            "results": [],
        }
    )


@pytest.mark.parametrize(("resource", "param"), PARAMS)
def test_a_malformed_id_is_a_400_whatever_exists(world, resource, param):
    response = world["client"].get(f"/api/v1/{resource}/", {param: "not-a-number"})
    assert response.status_code == 400


def test_filters_still_find_the_users_own_rows(world, lab_a):
    client = world["client"]
    cases = client.get("/api/v1/cases/", {"project": lab_a.pk}).json()
    assert [c["id"] for c in cases["results"]] == [world["case_a"].pk]
    own = Prediction.objects.filter(cell__case=world["case_a"])
    predictions = client.get("/api/v1/predictions/", {"cell__case": world["case_a"].pk}).json()
    assert sorted(p["id"] for p in predictions["results"]) == sorted(
        own.values_list("pk", flat=True)
    )
    version = own.first().model_version_id
    by_version = client.get("/api/v1/predictions/", {"model_version": version}).json()
    assert by_version["count"] == 2
