"""Hostile uploads: archives that inflate past the upload's budget, bodies sent by users who may
not upload, names and dates of birth as patient codes, empty files and empty archives."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from allreview.cases.ingest import IncomingFile, UploadRejected, expand_archives
from allreview.cases.models import Case, Cell
from allreview.projects.models import Role
from tests.factories import MembershipFactory, UserFactory

URL = "/api/v1/cases/"


def _named(name: str, content: bytes) -> io.BytesIO:
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def _stored(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


def _upload(api: APIClient, project, files, url: str = URL, **fields):
    data = {"project": project.pk, "patient_code": "P-001", **fields}
    data["files"] = [_named(name, content) for name, content in files]
    return api.post(url, data, format="multipart")


def _problems(response) -> dict[str, str]:
    return {p["file"]: p["reason"] for p in response.json()["problems"]}


# --- inflate budget ------------------------------------------------------------------------------


def test_small_high_ratio_zips_cannot_inflate_past_the_upload_budget_together(api, lab_a, settings):
    """Each zip is within every per-archive limit; together they pass the upload's budget."""
    settings.UPLOAD_MAX_BYTES = 3 * 2**20
    settings.UPLOAD_MAX_ARCHIVE_RATIO = 5000.0  # a lab that allows it: only the budget stands
    member = bytes(900 * 1024)  # under the ratio check's floor, compresses ~1000:1
    archive = _zip([("x1.bmp", member), ("x2.bmp", member)])  # 1.8 MB inflated, 4 KB sent
    assert len(archive) < 10_000
    files = [("a.zip", archive), ("b.zip", archive), ("c.zip", archive)]
    response = _upload(api, lab_a, files)
    assert response.status_code == 400
    problems = _problems(response)
    for name in ("b.zip", "c.zip"):
        assert "past the upload's limit of 3145728 bytes uncompressed" in problems[name]
    assert Case.objects.count() == 0 and _stored(settings) == []


def test_zip_members_are_inflated_to_files_not_memory(tmp_path, cell_bytes, settings):
    archive = IncomingFile("set.zip", _zip([("a.png", cell_bytes(1)), ("b.png", cell_bytes(2))]))
    members = expand_archives([archive], workdir=tmp_path)
    assert [m.name for m in members] == ["set.zip/a.png", "set.zip/b.png"]
    assert all(m.data == b"" and Path(m.path).parent == tmp_path for m in members)
    assert members[0].read() == cell_bytes(1)


def test_uploaded_files_reach_the_service_as_temporary_files(api, lab_a, cell_bytes, monkeypatch):
    from allreview.cases import services

    seen: list[IncomingFile] = []
    real = services.expand_archives

    def spy(files, *, workdir):
        seen.extend(files)
        return real(files, workdir=workdir)

    monkeypatch.setattr(services, "expand_archives", spy)
    response = _upload(api, lab_a, [("a.png", cell_bytes(1))])
    assert response.status_code == 201, response.json()
    assert seen and all(f.path and f.data == b"" for f in seen)


# --- role before body ----------------------------------------------------------------------------


@pytest.fixture
def body_reads(monkeypatch) -> list[int]:
    """Counts the times DRF parses a request body."""
    from rest_framework.request import Request

    reads: list[int] = []
    real = Request._parse

    def counting(self):
        reads.append(1)
        return real(self)

    monkeypatch.setattr(Request, "_parse", counting)
    return reads


@pytest.mark.parametrize("who", ["outsider", "reader", "other_lab"])
def test_upload_is_refused_before_the_body_is_read(who, lab_a, bob, cell_bytes, body_reads):
    reader = UserFactory(username="rita")
    MembershipFactory(project=lab_a, user=reader, role=Role.REVIEWER)
    user = {"outsider": UserFactory(username="charlie"), "reader": reader, "other_lab": bob}[who]
    client = APIClient()
    client.force_authenticate(user)
    response = _upload(client, lab_a, [("a.png", cell_bytes(1))], url=f"{URL}?project={lab_a.pk}")
    assert response.status_code == (403 if who == "reader" else 404)
    assert body_reads == []
    assert Case.objects.count() == 0


def test_without_the_query_a_user_who_uploads_nowhere_is_refused_before_the_body(
    lab_a, cell_bytes, body_reads
):
    reader = UserFactory(username="rita")
    MembershipFactory(project=lab_a, user=reader, role=Role.REVIEWER)
    client = APIClient()
    client.force_authenticate(reader)
    assert _upload(client, lab_a, [("a.png", cell_bytes(1))]).status_code == 403
    assert body_reads == []


def test_an_uploader_with_the_query_uploads(api, lab_a, cell_bytes):
    response = _upload(api, lab_a, [("a.png", cell_bytes(1))], url=f"{URL}?project={lab_a.pk}")
    assert response.status_code == 201, response.json()


def test_the_query_and_the_form_must_name_the_same_project(api, lab_a, lab_b, cell_bytes):
    MembershipFactory(project=lab_b, user=api.handler._force_user, role=Role.UPLOADER)
    response = _upload(api, lab_b, [("a.png", cell_bytes(1))], url=f"{URL}?project={lab_a.pk}")
    assert response.status_code == 400
    assert Case.objects.count() == 0


# --- names as patient codes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "John_Smith",
        "Maria Garcia",
        "Maria.Garcia-1975-03-12",
        "P-1975-03-12",
        "12.03.1975",
        "03/12/1975",
        "P19750312",
        "Jane/Doe",  # not the pseudonymous format
    ],
)
def test_names_and_dates_of_birth_are_refused_as_patient_codes_by_the_api(
    api, lab_a, cell_bytes, settings, code
):
    response = _upload(api, lab_a, [("a.png", cell_bytes(1))], patient_code=code)
    assert response.status_code == 400
    message = " ".join(response.json()["patient_code"])
    assert "pseudonymous code" in message
    assert Case.objects.count() == 0 and _stored(settings) == []


@pytest.mark.parametrize("code", ["P-0042", "DEMO-003", "UID_H12", "ALL.2024.7", "19-7731"])
def test_pseudonymous_codes_pass(api, lab_a, cell_bytes, code):
    response = _upload(api, lab_a, [("a.png", cell_bytes(1))], patient_code=code)
    assert response.status_code == 201, response.json()


def test_the_upload_form_says_why_a_name_is_refused(alice, lab_a, cell_bytes):
    client = Client()
    client.force_login(alice)
    data = {"project": lab_a.pk, "patient_code": "John_Smith", "files": [_named("a.png", b"x")]}
    response = client.post("/cases/new/", data)
    assert response.status_code == 400
    assert "looks like a person&#x27;s name" in response.content.decode()
    assert Case.objects.count() == 0


def test_a_lab_pattern_is_enforced(api, lab_a, cell_bytes, settings):
    settings.PATIENT_CODE_PATTERN = r"LAB-[0-9]{4}"
    assert _upload(api, lab_a, [("a.png", cell_bytes(1))], patient_code="P-0042").status_code == 400
    response = _upload(api, lab_a, [("a.png", cell_bytes(1))], patient_code="LAB-0042")
    assert response.status_code == 201


# --- empty files and archives ---------------------------------------------------------------------


def test_an_empty_file_is_named_in_the_refusal(api, lab_a, cell_bytes, settings):
    response = _upload(api, lab_a, [("good.png", cell_bytes(1)), ("blank.png", b"")])
    assert response.status_code == 400
    assert _problems(response) == {"blank.png": "empty file"}
    assert _stored(settings) == []


def test_an_empty_file_is_named_on_the_upload_page(alice, lab_a, cell_bytes):
    client = Client()
    client.force_login(alice)
    files = [_named("good.png", cell_bytes(1)), _named("blank.png", b"")]
    response = client.post(
        "/cases/new/", {"project": lab_a.pk, "patient_code": "P-1", "files": files}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "blank.png" in body and "empty file" in body


@pytest.mark.parametrize(
    "entries",
    [[], [("__MACOSX/._a.png", b"junk"), ("folder/", b"")]],
    ids=["no entry", "junk only"],
)
def test_an_empty_zip_beside_a_good_file_is_refused_and_named(
    api, lab_a, cell_bytes, settings, entries
):
    response = _upload(api, lab_a, [("good.png", cell_bytes(1)), ("empty.zip", _zip(entries))])
    assert response.status_code == 400
    assert _problems(response) == {"empty.zip": "empty archive: it holds no files"}
    assert Cell.objects.count() == 0 and _stored(settings) == []


def test_expand_archives_refuses_an_empty_zip(tmp_path):
    with pytest.raises(UploadRejected) as refused:
        expand_archives([IncomingFile("e.zip", _zip([]))], workdir=tmp_path)
    assert str(refused.value) == "e.zip: empty archive: it holds no files"
