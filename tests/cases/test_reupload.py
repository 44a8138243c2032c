"""Identical re-uploads: the case is created (a lab may mean it), but the uploader is warned."""

from __future__ import annotations

import io

from django.test import Client
from rest_framework.test import APIClient


def _named(name: str, content: bytes) -> io.BytesIO:
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def _post(api: APIClient, project, images: list[bytes], code: str = "P-1"):
    files = [_named(f"{i}.png", data) for i, data in enumerate(images)]
    data = {"project": project.pk, "patient_code": code, "files": files}
    return api.post("/api/v1/cases/", data, format="multipart")


def test_the_same_images_again_create_a_case_with_a_warning(alice, lab_a, cell_bytes):
    api = APIClient()
    api.force_authenticate(alice)
    first = _post(api, lab_a, [cell_bytes(1), cell_bytes(2)])
    assert first.status_code == 201 and first.json()["warnings"] == []
    again = _post(api, lab_a, [cell_bytes(2), cell_bytes(1)], code="P-2")  # order does not matter
    assert again.status_code == 201
    [warning] = again.json()["warnings"]
    assert f"case #{first.json()['id']}" in warning and "re-upload" in warning


def test_a_subset_or_a_superset_is_not_a_re_upload(alice, lab_a, cell_bytes):
    api = APIClient()
    api.force_authenticate(alice)
    _post(api, lab_a, [cell_bytes(1), cell_bytes(2)])
    assert _post(api, lab_a, [cell_bytes(1)]).json()["warnings"] == []
    assert _post(api, lab_a, [cell_bytes(1), cell_bytes(2), cell_bytes(3)]).json()["warnings"] == []


def test_another_projects_case_is_never_mentioned(alice, bob, lab_a, lab_b, cell_bytes):
    bobs = APIClient()
    bobs.force_authenticate(bob)
    assert _post(bobs, lab_b, [cell_bytes(1)]).status_code == 201
    api = APIClient()
    api.force_authenticate(alice)
    assert _post(api, lab_a, [cell_bytes(1)]).json()["warnings"] == []


def test_the_upload_page_warns_about_a_re_upload(alice, lab_a, cell_bytes):
    client = Client()
    client.force_login(alice)
    for code in ("P-1", "P-2"):
        data = {
            "project": lab_a.pk,
            "patient_code": code,
            "files": [_named("a.png", cell_bytes(1))],
        }
        response = client.post("/cases/new/", data, follow=True)
    assert "is this a re-upload?" in response.content.decode()
