"""Uploading a case through the REST API: good sets are stored, bad ones refused whole."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from allreview.audit.models import AuditEvent
from allreview.cases.models import Case, CaseStatus, Cell
from allreview.projects.models import Role
from tests.factories import MembershipFactory, UserFactory

URL = "/api/v1/cases/"


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


def upload(api: APIClient, project, files: list[tuple[str, bytes]], **fields):
    data = {"project": project.pk, "patient_code": "P-001", "specimen_id": "S-1", **fields}
    data["files"] = [_named(name, content) for name, content in files]
    return api.post(URL, data, format="multipart")


def _named(name: str, content: bytes) -> io.BytesIO:
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def make_zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def test_upload_stores_cells_thumbnails_and_queues_the_case(api, lab_a, cell_bytes, settings):
    files = [
        ("a.png", cell_bytes(1, "PNG")),
        ("b.bmp", cell_bytes(2, "BMP")),
        ("c.jpg", cell_bytes(3, "JPEG")),
        ("d.tif", cell_bytes(4, "TIFF")),
    ]
    response = upload(api, lab_a, files)
    assert response.status_code == 201, response.json()
    case = Case.objects.get(pk=response.json()["id"])
    assert case.status == CaseStatus.QUEUED
    cells = list(case.cells.order_by("original_name"))
    assert [c.image_format for c in cells] == ["PNG", "BMP", "JPEG", "TIFF"]
    assert all(c.width == 450 and c.height == 450 for c in cells)
    # each original, its thumbnail and its model input crop, and the case's thumbnail pack
    assert len(stored_files(settings)) == 4 * 3 + 1
    assert AuditEvent.objects.filter(action="case.upload", case_id=case.pk).exists()


def test_format_is_recognised_by_content_not_extension(api, lab_a, cell_bytes):
    response = upload(api, lab_a, [("looks_like.jpg", cell_bytes(1, "PNG"))])
    assert response.status_code == 201
    assert Cell.objects.get().image_format == "PNG"


def test_zip_upload_expands_its_images(api, lab_a, cell_bytes):
    archive = make_zip([("cells/one.png", cell_bytes(1)), ("cells/two.png", cell_bytes(2))])
    response = upload(api, lab_a, [("set.zip", archive)])
    assert response.status_code == 201, response.json()
    assert sorted(Cell.objects.values_list("original_name", flat=True)) == [
        "set.zip/cells/one.png",
        "set.zip/cells/two.png",
    ]


def assert_refused(response, settings, *, file: str, reason: str) -> None:
    assert response.status_code == 400, response.content
    problems = response.json()["problems"]
    assert any(file in p["file"] and reason in p["reason"] for p in problems), problems
    assert Case.objects.count() == 0
    assert stored_files(settings) == []


def test_corrupt_image_is_refused_by_name_and_nothing_is_stored(api, lab_a, cell_bytes, settings):
    good = cell_bytes(1)
    response = upload(api, lab_a, [("good.png", good), ("broken.png", good[: len(good) // 2])])
    assert_refused(response, settings, file="broken.png", reason="")
    assert not any("good.png" in p["file"] for p in response.json()["problems"])


def test_cells_stored_before_a_later_refusal_are_removed_and_every_bad_file_is_named(
    api, lab_a, cell_bytes, settings
):
    # cells are stored as their checks finish, so good files before the first bad one are on
    # disk when it is found: the refusal still names every bad file and leaves nothing
    good, other, third = cell_bytes(1), cell_bytes(2), cell_bytes(3)
    files = [("a.png", good), ("b.png", other), ("bad1.png", good[:100]), ("c.png", third)]
    files.append(("bad2.png", b"not an image"))
    response = upload(api, lab_a, files)
    assert response.status_code == 400
    assert [p["file"] for p in response.json()["problems"]] == ["bad1.png", "bad2.png"]
    assert stored_files(settings) == []
    assert Case.objects.count() == 0 and Cell.objects.count() == 0


def test_non_image_is_refused(api, lab_a, settings):
    response = upload(api, lab_a, [("notes.png", b"these are not pixels" * 10)])
    assert_refused(response, settings, file="notes.png", reason="")


@pytest.mark.parametrize(
    ("member", "reason_part"),
    [("../escape.png", ".."), ("/etc/abs.png", "")],
)
def test_zip_with_escaping_path_is_refused(api, lab_a, cell_bytes, settings, member, reason_part):
    archive = make_zip([("ok.png", cell_bytes(1)), (member, cell_bytes(2))])
    response = upload(api, lab_a, [("set.zip", archive)])
    assert_refused(response, settings, file="set.zip", reason=reason_part)


def test_zip_with_a_link_is_refused(api, lab_a, settings):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("link.png")
        info.external_attr = 0o120777 << 16  # a symbolic link
        archive.writestr(info, "/etc/passwd")
    response = upload(api, lab_a, [("set.zip", buffer.getvalue())])
    assert_refused(response, settings, file="link.png", reason="")


def test_nested_zip_is_refused(api, lab_a, cell_bytes, settings):
    inner = make_zip([("x.png", cell_bytes(1))])
    response = upload(api, lab_a, [("set.zip", make_zip([("inner.zip", inner)]))])
    assert_refused(response, settings, file="inner.zip", reason="")


def test_zip_bomb_is_refused(api, lab_a, settings):
    bomb = make_zip([("huge.png", b"\0" * (30 * 2**20))])
    response = upload(api, lab_a, [("bomb.zip", bomb)])
    assert_refused(response, settings, file="huge.png", reason="")


def test_decompression_bomb_image_is_refused(api, lab_a, settings):
    from PIL import Image

    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, format="PNG")  # tiny file, 400 megapixels
    response = upload(api, lab_a, [("bomb.png", bomb.getvalue())])
    assert_refused(response, settings, file="bomb.png", reason="")


def test_image_far_too_small_is_refused(api, lab_a, settings):
    from PIL import Image

    small = io.BytesIO()
    Image.new("RGB", (8, 8)).save(small, format="PNG")
    response = upload(api, lab_a, [("dot.png", small.getvalue())])
    assert_refused(response, settings, file="dot.png", reason="small")


def test_more_files_than_the_limit_is_refused(api, lab_a, cell_bytes, settings):
    settings.UPLOAD_MAX_FILES = 2
    files = [(f"{i}.png", cell_bytes(i)) for i in range(3)]
    assert_refused(upload(api, lab_a, files), settings, file="upload", reason="limit")


def test_more_bytes_than_the_limit_is_refused(api, lab_a, cell_bytes, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    assert_refused(
        upload(api, lab_a, [("a.png", cell_bytes(1))]), settings, file="upload", reason="limit"
    )


def test_duplicate_image_within_a_case_is_reported(api, lab_a, cell_bytes, settings):
    same = cell_bytes(7)
    response = upload(api, lab_a, [("first.png", same), ("second.png", same)])
    assert_refused(response, settings, file="second.png", reason="duplicate")
    assert "first.png" in response.json()["problems"][0]["reason"]


def test_patient_code_that_looks_like_a_name_is_refused(api, lab_a, cell_bytes):
    response = upload(api, lab_a, [("a.png", cell_bytes(1))], patient_code="Jane Doe")
    assert response.status_code == 400
    assert "patient_code" in response.json()
    assert Case.objects.count() == 0


def test_failure_while_storing_removes_files_already_written(
    api, lab_a, cell_bytes, settings, monkeypatch
):
    from allreview.cases import services

    def explode(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "audit_record", explode)
    with pytest.raises(RuntimeError):
        upload(api, lab_a, [("a.png", cell_bytes(1)), ("b.png", cell_bytes(2))])
    assert Case.objects.count() == 0
    assert stored_files(settings) == []


def test_reviewer_cannot_upload(lab_a, cell_bytes):
    reviewer = UserFactory(username="rita")
    MembershipFactory(project=lab_a, user=reviewer, role=Role.REVIEWER)
    client = APIClient()
    client.force_authenticate(reviewer)
    response = upload(client, lab_a, [("a.png", cell_bytes(1))])
    assert response.status_code == 403
    assert Case.objects.count() == 0


def test_outsider_cannot_upload_into_a_project(charlie, lab_a, cell_bytes):
    client = APIClient()
    client.force_authenticate(charlie)
    assert upload(client, lab_a, [("a.png", cell_bytes(1))]).status_code == 404
