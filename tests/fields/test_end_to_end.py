"""A field uploaded on the upload page becomes a case whose cells a real Celery worker, through
Redis, finds, crops and classifies (segmentation, then classification, on the inference queue)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from allreview.cases.models import CaseStatus, Prediction
from allreview.fields.models import CellProvenance, Field, FieldStatus
from tests.fields.helpers import WHITE_CELLS, drawn_field
from tests.test_end_to_end import wait_for, worker  # noqa: F401  (the worker fixture)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_field_uploaded_on_the_page_is_segmented_and_classified_by_a_worker(
    production_model,
    alice,
    lab_a,
    worker,  # noqa: F811
    tmp_path,
    settings,
):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    client = Client()
    client.force_login(alice)
    response = client.post(
        "/cases/new/",
        {
            "project": lab_a.pk,
            "patient_code": "E2E-F1",
            "files": [SimpleUploadedFile("field.jpg", drawn_field(), "image/jpeg")],
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    case_id = int(response["Location"].rstrip("/").rsplit("/", 1)[-1])
    try:
        case = wait_for(case_id, {CaseStatus.READY, CaseStatus.FAILED}, timeout=180)
    except AssertionError:
        print((tmp_path / "worker.log").read_text()[-5000:])
        raise
    assert case.status == CaseStatus.READY, case.status_detail
    field = Field.objects.get(case_id=case_id)
    assert field.status == FieldStatus.DONE
    cells = CellProvenance.objects.filter(field=field).values_list("cell_id", flat=True)
    assert len(cells) == len(WHITE_CELLS)
    assert Prediction.objects.filter(cell_id__in=cells, model_version=production_model).count() == 3
