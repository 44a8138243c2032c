"""Exports stream every cell with each model's prediction, each reader's label and the final label."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.test import Client

from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Prediction
from allreview.cases.services import case_upload
from allreview.projects.models import Role
from allreview.review.models import SignOff
from allreview.review.services.labels import label_set
from tests.factories import LabelFactory, MembershipFactory, ModelVersionFactory, UserFactory


@pytest.fixture
def exported(lab_a, alice, cell_bytes):
    case = case_upload(
        project=lab_a,
        user=alice,
        patient_code="EXP-1",
        files=[IncomingFile(f"{i}.png", cell_bytes(i)) for i in range(3)],
    )
    cells = list(case.cells.order_by("id"))
    for name in ("m1", "m2"):
        version = ModelVersionFactory(name=name)
        Prediction.objects.bulk_create(
            Prediction(cell=c, model_version=version, probability=0.8, label="all", uncertainty=0.1)
            for c in cells
        )
    reader = UserFactory(username="rita")
    MembershipFactory(project=lab_a, user=reader, role=Role.REVIEWER)
    label_set(cell=cells[0], user=reader, value="hem")
    label_set(cell=cells[0], user=alice, value="all")
    label_set(cell=cells[1], user=reader, value="unsure")
    return cells


def sign(cells, alice) -> None:
    """Sign the exported case off (a lead, with an exception for its unsure and unread cells)."""
    from allreview.cases.models import Case, CaseStatus
    from allreview.review.services.signoff import case_sign_off

    Case.objects.filter(pk=cells[0].case_id).update(status=CaseStatus.IN_REVIEW)
    case_sign_off(case=Case.objects.get(pk=cells[0].case_id), user=alice, exception_reason="t")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def alice_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_csv_has_a_column_per_model_and_reader_and_the_final_label(exported, alice, lab_a):
    sign(exported, alice)
    response = alice_client(alice).get(f"/exports/{lab_a.pk}/cells.csv")
    rows = list(csv.DictReader(io.StringIO(body(response).decode())))
    assert len(rows) == 3
    first = rows[0]
    assert first["patient_code"] == "EXP-1"
    assert first["m1:probability"] == "0.8" and first["m2:label"] == "all"
    assert (first["reader:rita"], first["reader:alice"], first["final_label"]) == (
        "hem",
        "all",
        "all",
    )
    assert rows[1]["final_label"] == "unsure" and rows[2]["final_label"] == ""
    assert {r["sign_off"] for r in rows} == {str(SignOff.objects.get().pk)}


def test_final_labels_are_the_signed_ones_and_open_cases_have_none(exported, alice, lab_a):

    data = json.loads(body(alice_client(alice).get(f"/exports/{lab_a.pk}/cells.json")))
    assert [c["final_label"] for c in data] == [None, None, None]  # not signed off yet
    sign(exported, alice)
    # a label row written behind the services' back after sign-off changes nothing exported
    LabelFactory(cell=exported[0], user=alice, value="hem")
    data = json.loads(body(alice_client(alice).get(f"/exports/{lab_a.pk}/cells.json")))
    assert [c["final_label"] for c in data] == ["all", "unsure", None]


def test_json_lists_the_same_cells(exported, alice, lab_a):
    data = json.loads(body(alice_client(alice).get(f"/exports/{lab_a.pk}/cells.json")))
    assert [c["cell_id"] for c in data] == [c.pk for c in exported]
    assert data[0]["labels"] == {"rita": "hem", "alice": "all"}
    assert set(data[0]["predictions"]) == {"m1", "m2"}


def test_cnmc_zip_holds_final_class_labels_only_in_their_folders(exported, alice, lab_a):
    assert body(alice_client(alice).get(f"/exports/{lab_a.pk}/cnmc.zip"))[:4] == b"PK\x05\x06"
    sign(exported, alice)
    archive = zipfile.ZipFile(
        io.BytesIO(body(alice_client(alice).get(f"/exports/{lab_a.pk}/cnmc.zip")))
    )
    names = archive.namelist()
    assert names == [f"all/UID_EXP-1_{exported[0].case_id}_{exported[0].pk}_all.png"]
    assert archive.read(names[0])[:4] == b"\x89PNG"
    assert archive.testzip() is None


def test_exports_stream_in_chunks_with_constant_queries(
    exported, lab_a, monkeypatch, django_assert_max_num_queries
):
    from allreview.exports import selectors

    monkeypatch.setattr(selectors, "CHUNK", 1)  # three chunks of one cell
    models, readers = selectors.export_columns(project=lab_a)
    with django_assert_max_num_queries(3 * 3 + 2):
        cells = list(selectors.export_cells(project=lab_a))
    assert len(cells) == 3 and cells[0].labels == {"rita": "hem", "alice": "all"}


def test_reviewers_cannot_export_and_outsiders_get_404(exported, lab_a, charlie):
    reviewer = UserFactory(username="rex")
    MembershipFactory(project=lab_a, user=reviewer, role=Role.REVIEWER)
    for user, status in ((reviewer, 403), (charlie, 404)):
        client = Client()
        client.force_login(user)
        for kind in ("cells.csv", "cells.json", "cnmc.zip"):
            assert client.get(f"/exports/{lab_a.pk}/{kind}").status_code == status


def test_an_adjudication_is_the_final_label_not_a_reader_column(exported, alice, lab_a):
    from allreview.cases.models import LabelKind

    LabelFactory(cell=exported[1], user=alice, value="hem", kind=LabelKind.ADJUDICATION)
    sign(exported, alice)
    data = json.loads(body(alice_client(alice).get(f"/exports/{lab_a.pk}/cells.json")))
    assert data[1]["final_label"] == "hem"
    assert data[1]["labels"] == {"rita": "unsure"}
