"""Each file of an upload is checked as soon as it has arrived, while the rest of the body is
still being parsed, when the request names a project the user may upload to (?project=, as the
API's clients and the upload page's script do). The outcome is the one the late check gives."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from allreview.cases.models import Case, Cell
from allreview.projects.models import Role
from tests.cases.test_upload import _named, make_zip
from tests.factories import MembershipFactory, UserFactory


def _post(client, url: str, project, files, code: str = "E-1"):
    data = {"project": project.pk, "patient_code": code, "files": [_named(n, b) for n, b in files]}
    return client.post(url, data, format="multipart")


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


def test_files_are_checked_as_they_arrive_with_the_same_result(api, lab_a, cell_bytes, prechecked):
    files = [(f"{i}.png", cell_bytes(i)) for i in range(6)]
    response = _post(api, f"/api/v1/cases/?project={lab_a.pk}", lab_a, files)
    assert response.status_code == 201, response.json()
    assert prechecked == [6]
    cells = Cell.objects.filter(case_id=response.json()["id"])
    assert cells.count() == 6 and all(c.thumbnail and c.model_input for c in cells)
    late = _post(api, "/api/v1/cases/", lab_a, [(f"{i}.png", cell_bytes(i + 10)) for i in range(6)])
    assert late.status_code == 201 and prechecked == [6, 0]  # no project named: checked after
    fields = ("width", "height", "image_format", "model_input_geometry")
    early_cell = cells.order_by("id").values(*fields).first()
    assert early_cell == Cell.objects.filter(case_id=late.json()["id"]).values(*fields).first()


def test_a_bad_file_checked_early_refuses_the_upload_whole(api, lab_a, cell_bytes, prechecked):
    files = [("good.png", cell_bytes(1)), ("bad.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 200)]
    response = _post(api, f"/api/v1/cases/?project={lab_a.pk}", lab_a, files)
    assert response.status_code == 400 and prechecked == [2]
    assert "bad.png" in str(response.json()) and not Case.objects.exists()


def test_zip_members_are_checked_after_the_body(api, lab_a, cell_bytes, prechecked):
    archive = make_zip([("z1.png", cell_bytes(1)), ("z2.png", cell_bytes(2))])
    files = [("set.zip", archive), ("loose.png", cell_bytes(3))]
    response = _post(api, f"/api/v1/cases/?project={lab_a.pk}", lab_a, files)
    assert response.status_code == 201, response.json()
    assert prechecked == [1] and response.json()["n_cells"] == 3


def test_no_early_check_for_whom_may_not_upload_there(lab_a, cell_bytes, prechecked):
    reviewer = UserFactory(username="rex")
    MembershipFactory(project=lab_a, user=reviewer, role=Role.REVIEWER)
    client = APIClient()
    client.force_authenticate(reviewer)
    response = _post(client, f"/api/v1/cases/?project={lab_a.pk}", lab_a, [("a.png", cell_bytes())])
    assert response.status_code == 403 and prechecked == []  # refused before the body is read


def test_the_upload_page_checks_early_for_the_project_it_names(
    client, alice, lab_a, cell_bytes, prechecked
):
    client.force_login(alice)
    files = [_named(f"{i}.png", cell_bytes(i)) for i in range(3)]
    data = {"project": lab_a.pk, "patient_code": "PAGE-1", "specimen_id": "", "files": files}
    response = client.post(f"/cases/new/?project={lab_a.pk}", data)
    assert response.status_code == 302 and prechecked == [3]
    assert Case.objects.get(patient_code="PAGE-1").cells.count() == 3


def test_the_upload_page_still_refuses_a_post_without_its_csrf_token(alice, lab_a, cell_bytes):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    data = {"project": lab_a.pk, "patient_code": "CSRF-1", "files": [_named("a.png", cell_bytes())]}
    assert client.post(f"/cases/new/?project={lab_a.pk}", data).status_code == 403
    assert client.post("/cases/new/", data).status_code == 403
    assert not Case.objects.exists()


def test_a_session_api_upload_whose_csrf_check_read_the_body_is_checked_late(
    alice, lab_a, cell_bytes, prechecked
):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    token = client.get("/cases/new/").cookies["csrftoken"].value
    data = {"project": lab_a.pk, "patient_code": "S-1", "files": [_named("a.png", cell_bytes())]}
    response = client.post(
        f"/api/v1/cases/?project={lab_a.pk}", data, format="multipart", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201, response.content
    assert prechecked == [0]
