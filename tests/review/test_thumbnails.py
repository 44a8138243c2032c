"""Thumbnails at their content addresses (issue 12, must-have 3): one cell's, and every one of a
case in one pack; cached privately for a year (immutable) and revalidated by ETag, with the
access rules applied to every request that reaches the server."""

from __future__ import annotations

import re

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from allreview.cases.ingest import IncomingFile
from allreview.cases.services import case_upload
from allreview.lib.thumbpack import thumbnail_unpack
from allreview.review.thumbnails import thumbnail_pack_url, thumbnail_url

YEAR = "private, max-age=31536000, immutable"


@pytest.fixture
def case(alice, lab_a, cell_bytes):
    files = [IncomingFile(f"{i}.png", cell_bytes(i)) for i in range(3)]
    return case_upload(project=lab_a, user=alice, patient_code="THUMB-1", files=files)


@pytest.fixture
def client_charlie(charlie) -> Client:  # an outsider: member of no project
    client = Client()
    client.force_login(charlie)
    return client


def _stored(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def test_thumbnail_at_its_address_is_kept_privately_for_a_year_and_revalidated(client_alice, case):
    cell = case.cells.first()
    first = client_alice.get(thumbnail_url(cell.pk, cell.sha256))
    assert first.status_code == 200
    assert first["Content-Type"] == "image/jpeg"
    assert first["Cache-Control"] == YEAR
    assert b"".join(first.streaming_content) == _stored(cell.thumbnail.name)
    again = client_alice.get(thumbnail_url(cell.pk, cell.sha256), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["Cache-Control"] == YEAR


def test_an_address_with_other_content_is_not_found(client_alice, case):
    cells = list(case.cells.order_by("id"))
    assert client_alice.get(thumbnail_url(cells[0].pk, cells[1].sha256)).status_code == 404
    assert client_alice.get(f"/cells/{cells[0].pk}/thumbnail/{'0' * 64}.jpg").status_code == 404


def test_outsider_gets_404_even_with_the_right_address_and_etag(client_charlie, case):
    cell = case.cells.first()
    etag = f'"{cell.sha256[:32]}t"'
    url = thumbnail_url(cell.pk, cell.sha256)
    assert client_charlie.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 404
    pack = thumbnail_pack_url(case)
    assert client_charlie.get(pack, HTTP_IF_NONE_MATCH=f'"{pack[-37:-5]}p"').status_code == 404


def test_signed_out_browser_is_sent_to_log_in(case):
    cell = case.cells.first()
    response = Client().get(thumbnail_url(cell.pk, cell.sha256))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_case_page_points_at_a_pack_holding_every_thumbnail_of_the_case(client_alice, case):
    page = client_alice.get(f"/cases/{case.pk}/").content.decode()
    url = re.search(r'data-thumbnail-pack="([^"]+)"', page)[1]
    assert url == thumbnail_pack_url(case)
    assert f'rel="preload" href="{url}"' in page
    response = client_alice.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == YEAR
    data = b"".join(response.streaming_content)
    assert thumbnail_unpack(data) == {c.pk: _stored(c.thumbnail.name) for c in case.cells.all()}
    again = client_alice.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_pack_address_is_the_sha256_of_its_bytes(client_alice, case):
    import hashlib

    url = thumbnail_pack_url(case)
    data = b"".join(client_alice.get(url).streaming_content)
    assert url == f"/cases/{case.pk}/thumbnails/{hashlib.sha256(data).hexdigest()}.pack"
    other = url.replace(url[-69:-5], "f" * 64)
    assert client_alice.get(other).status_code == 404


def test_case_without_a_pack_gets_addressed_thumbnails_one_by_one(client_alice, case):
    from allreview.cases.models import Case

    Case.objects.filter(pk=case.pk).update(thumbnail_pack="")  # a case from before packs
    page = client_alice.get(f"/cases/{case.pk}/").content.decode()
    assert 'data-thumbnail-pack=""' in page and 'rel="preload"' not in page
    cell = case.cells.first()
    from allreview.review.thumbnails import cell_address

    # the rows carry each address for the script, never the bare image hash
    assert f'"{cell_address(cell.pk, cell.sha256)}"' in page and cell.sha256 not in page


def test_the_address_is_bound_to_the_row_never_the_bare_image_hash(client_alice, case):
    """Reader QC's known-answer cells share their image with another patient's cell: neither the
    thumbnail address nor the gallery rows may carry the image's own sha256 (it would link them)."""
    from allreview.review.thumbnails import cell_address

    cell = case.cells.first()
    url = thumbnail_url(cell.pk, cell.sha256)
    assert cell.sha256 not in url and cell_address(cell.pk, cell.sha256) in url
    assert cell_address(cell.pk + 1, cell.sha256) != cell_address(cell.pk, cell.sha256)
    assert client_alice.get(f"/cells/{cell.pk}/thumbnail/{cell.sha256}.jpg").status_code == 404
    page = client_alice.get(f"/cases/{case.pk}/")
    assert cell.sha256.encode() not in page.content
