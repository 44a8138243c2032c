"""A user sees only projects they are a member of: pages, API and image files alike answer 404."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from allreview.cases.models import Case
from tests.factories import CellFactory


@pytest.fixture
def case_of_lab_a(lab_a, alice, cell_bytes) -> Case:
    from allreview.cases.ingest import IncomingFile
    from allreview.cases.services import case_upload

    return case_upload(
        project=lab_a,
        user=alice,
        patient_code="P-1",
        files=[IncomingFile("a.png", cell_bytes(1)), IncomingFile("b.png", cell_bytes(2))],
    )


def page_urls(case: Case) -> list[str]:
    cell = case.cells.first()
    return [
        f"/cases/{case.pk}/",
        f"/cells/{cell.pk}/image/",
        f"/cells/{cell.pk}/thumbnail/",
    ]


def api_urls(case: Case) -> list[str]:
    cell = case.cells.first()
    return [
        f"/api/v1/cases/{case.pk}/",
        f"/api/v1/cases/{case.pk}/cells/",
        f"/api/v1/cells/{cell.pk}/",
        f"/api/v1/cells/{cell.pk}/labels/",
    ]


def test_member_sees_case_pages_images_and_api(alice, case_of_lab_a):
    client = Client()
    client.force_login(alice)
    for url in page_urls(case_of_lab_a):
        assert client.get(url).status_code == 200, url
    api = APIClient()
    api.force_authenticate(alice)
    for url in api_urls(case_of_lab_a):
        assert api.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_member_of_other_project_and_outsider_get_404_everywhere(request, who, case_of_lab_a):
    user = request.getfixturevalue(who)
    client = Client()
    client.force_login(user)
    for url in page_urls(case_of_lab_a):
        assert client.get(url).status_code == 404, url
    cell = case_of_lab_a.cells.first()
    assert client.post(f"/cells/{cell.pk}/label/", {"value": "all"}).status_code == 404
    # the case page's relabel finds the case under the access rule inside its lock (one query)
    for body in ({"cells": [cell.pk], "value": "all"}, {"cells": [cell.pk], "value": "model"}):
        answer = client.post(
            f"/cases/{case_of_lab_a.pk}/labels/", body, content_type="application/json"
        )
        assert answer.status_code == 404
    assert not cell.labels.exists()
    api = APIClient()
    api.force_authenticate(user)
    for url in api_urls(case_of_lab_a):
        assert api.get(url).status_code == 404, url
    assert api.post(f"/api/v1/cells/{cell.pk}/labels/", {"value": "all"}).status_code == 404
    assert api.get("/api/v1/cases/").json()["count"] == 0
    assert api.get("/api/v1/predictions/").json()["count"] == 0


def test_case_list_shows_only_my_projects(alice, bob, lab_b, case_of_lab_a):
    from tests.factories import CaseFactory

    CaseFactory(project=lab_b, patient_code="BOB-1")
    client = Client()
    client.force_login(bob)
    body = client.get("/").content.decode()
    assert "BOB-1" in body and "P-1" not in body


def test_anonymous_is_sent_to_login_and_api_refuses(case_of_lab_a):
    response = Client().get(f"/cases/{case_of_lab_a.pk}/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert Client().get(page_urls(case_of_lab_a)[1]).status_code == 302
    assert APIClient().get("/api/v1/cases/").status_code in {401, 403}


def test_images_are_private_to_the_browser(alice, case_of_lab_a):
    client = Client()
    client.force_login(alice)
    response = client.get(page_urls(case_of_lab_a)[2])
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"].startswith("private")


def test_token_auth_reaches_the_api(alice, case_of_lab_a):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=alice)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get(f"/api/v1/cases/{case_of_lab_a.pk}/").status_code == 200


def test_rows_without_files_still_answer_404_to_outsiders(charlie, lab_a):
    from tests.factories import CaseFactory

    case = CaseFactory(project=lab_a)
    cell = CellFactory.create_for_case(case, 1)[0]
    client = Client()
    client.force_login(charlie)
    assert client.get(f"/cells/{cell.pk}/image/").status_code == 404
