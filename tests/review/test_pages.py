from __future__ import annotations

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CaseFactory, CellFactory, ModelVersionFactory


def gallery_rows(response) -> list[list]:
    body = response.content.decode()
    start = body.index('<script id="cell-rows" type="application/json">') + len(
        '<script id="cell-rows" type="application/json">'
    )
    return json.loads(body[start : body.index("</script>", start)])


def _case_page_queries(client, lab_a, n_cells: int) -> int:
    case = CaseFactory(project=lab_a)
    CellFactory.create_for_case(
        case, n_cells, model_version=ModelVersionFactory(name=f"m{n_cells}")
    )
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    assert len(gallery_rows(response)) == n_cells
    return len(captured)


def test_case_page_query_count_does_not_grow_with_cells(client_alice, lab_a):
    small = _case_page_queries(client_alice, lab_a, 50)
    large = _case_page_queries(client_alice, lab_a, 500)
    assert small == large
    assert large <= 12  # with reader QC's stand-ins check, the FHIR panel and the fields list


def test_worklist_query_count_does_not_grow_with_cases(client_alice, lab_a):
    counts = []
    for n in (2, 20):
        for _ in range(n):
            CellFactory.create_for_case(CaseFactory(project=lab_a), 3)
        with CaptureQueriesContext(connection) as captured:
            assert client_alice.get("/").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_case_page_groups_blasts_first_most_uncertain_first(client_alice, ready_case):
    from allreview.cases.models import Prediction

    # make the least certain normal cell stand out
    hem = Prediction.objects.filter(cell__case=ready_case, label="hem").order_by("id")
    Prediction.objects.filter(pk=hem[2].pk).update(uncertainty=0.3)
    rows = gallery_rows(client_alice.get(f"/cases/{ready_case.pk}/"))
    assert [r[3] for r in rows] == ["all"] * 5 + ["hem"] * 5
    assert rows[5][0] == hem[2].cell_id
    by_probability = gallery_rows(client_alice.get(f"/cases/{ready_case.pk}/?order=probability"))
    assert [r[1] for r in by_probability[:5]] == [0.9, 0.8, 0.7, 0.6, 0.5]


def test_case_page_shows_summary_and_decision_support_flag(client_alice, ready_case, settings):
    settings.BLAST_FLAG_THRESHOLD = 0.4
    body = client_alice.get(f"/cases/{ready_case.pk}/").content.decode()
    assert "READY-1" in body
    assert "Flag: blast fraction above 0.40" in body and "Decision support" in body
    assert "50.0%" in body and "95% CI 23.7–76.3%" in body  # Wilson for 5 of 10
    settings.BLAST_FLAG_THRESHOLD = 0.6
    assert "No flag" in client_alice.get(f"/cases/{ready_case.pk}/").content.decode()


def test_thumbnail_is_cached_privately_and_revalidated_by_etag(client_alice, lab_a, cell_bytes):
    from allreview.cases.ingest import IncomingFile
    from allreview.cases.services import case_upload

    case = case_upload(
        project=lab_a,
        user=client_alice.session and lab_a.memberships.first().user,
        patient_code="ETAG-1",
        files=[IncomingFile("a.png", cell_bytes(1))],
    )
    url = f"/cells/{case.cells.get().pk}/thumbnail/"
    first = client_alice.get(url)
    assert first.status_code == 200
    assert first["Cache-Control"].startswith("private")
    again = client_alice.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


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
    assert len(gallery_rows(client_alice.get(response["Location"]))) == 3


def test_api_schema_and_docs_are_served(client_alice):
    assert client_alice.get("/api/schema/").status_code == 200
    assert client_alice.get("/api/docs/").status_code == 200
