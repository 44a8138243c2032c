from __future__ import annotations

import pytest
from django.test import Client

from tests.cases.helpers import make_cells, make_model_version
from tests.factories import CaseFactory


@pytest.fixture
def client_alice(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def _case_page_queries(client, lab_a, n_cells, django_assert_max_num_queries) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case = CaseFactory(project=lab_a)
    make_cells(case, n_cells, model_version=make_model_version(f"m{n_cells}"))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    assert response.content.decode().count('class="tile') == n_cells
    return len(captured)


def test_case_page_query_count_does_not_grow_with_cells(
    client_alice, lab_a, django_assert_max_num_queries
):
    small = _case_page_queries(client_alice, lab_a, 50, django_assert_max_num_queries)
    large = _case_page_queries(client_alice, lab_a, 500, django_assert_max_num_queries)
    assert small == large
    assert large <= 12


def test_case_list_query_count_does_not_grow_with_cases(
    client_alice, lab_a, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in (2, 20):
        for _ in range(n):
            make_cells(CaseFactory(project=lab_a), 3)
        with CaptureQueriesContext(connection) as captured:
            assert client_alice.get("/").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_case_page_shows_predictions_and_counts(client_alice, lab_a):
    case = CaseFactory(project=lab_a, patient_code="SHOW-1")
    make_cells(case, 10, model_version=make_model_version())
    body = client_alice.get(f"/cases/{case.pk}/").content.decode()
    assert "SHOW-1" in body
    assert body.count("badge-all") == 5 and body.count("badge-hem") == 5
    assert "p=0.90" in body


def test_upload_page_lists_bad_files_and_stores_nothing(client_alice, lab_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from allreview.cases.models import Case

    response = client_alice.post(
        "/cases/new/",
        {
            "project": lab_a.pk,
            "patient_code": "P-9",
            "files": [SimpleUploadedFile("junk.png", b"not an image at all")],
        },
    )
    assert response.status_code == 400
    assert "junk.png" in response.content.decode()
    assert Case.objects.count() == 0


def test_upload_page_creates_case_and_redirects(client_alice, lab_a, cell_bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    files = [SimpleUploadedFile(f"{i}.png", cell_bytes(i)) for i in range(3)]
    response = client_alice.post(
        "/cases/new/", {"project": lab_a.pk, "patient_code": "P-10", "files": files}
    )
    assert response.status_code == 302
    assert client_alice.get(response["Location"]).content.decode().count('class="tile') == 3


def test_api_schema_and_docs_are_served(client_alice):
    assert client_alice.get("/api/schema/").status_code == 200
    assert client_alice.get("/api/docs/").status_code == 200
