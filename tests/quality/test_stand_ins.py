"""Reference cells in a reader's gallery: placed among the case's own cells at upload, shown to
whoever may label the open case exactly like its own cells (same ids, URLs, keys, endpoints),
and never part of the case's record."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

from allreview.agreement.selectors import project_reads
from allreview.cases.models import Case, CaseStatus, Cell, Label
from allreview.cases.standins import interleave
from allreview.quality.models import ReferenceLabel, ReferencePlacement
from allreview.review.models import SignedCell
from allreview.review.selectors.adjudication import adjudication_queue
from allreview.review.selectors.final import disputed_count
from allreview.review.selectors.gallery import case_review_counts
from allreview.review.selectors.reading import reading_view
from allreview.review.services.labels import labels_set_bulk
from allreview.review.services.readers import case_reader_add
from allreview.review.services.signoff import case_reopen, case_sign_off
from allreview.review.summary import case_summary
from allreview.training.selectors import final_labelled_cells
from tests.quality.helpers import answers, login, own_ids, stand_in_ids, upload


def test_upload_places_reference_cells_of_other_patients(qc_case, pooled):
    placed = ReferencePlacement.objects.filter(case=qc_case).select_related("reference__cell")
    assert len(stand_in_ids(qc_case)) == 4 and placed.count() == 4  # 20 own cells × 0.2
    assert {p.stand_in_id for p in placed} == set(stand_in_ids(qc_case))
    for p in placed:
        stand_in = Cell.objects.get(pk=p.stand_in_id)
        assert p.reference.cell.case.patient_code == "SOURCE-1"
        assert stand_in.sha256 == p.reference.cell.sha256
        assert stand_in.image.name == p.reference.cell.image.name  # shared file, not a copy
    assert len(own_ids(qc_case)) == 20


def test_a_patients_own_reference_cells_are_never_mixed_into_their_case(pooled):
    case = upload(pooled.project, pooled.ula, "SOURCE-1", 20, seed=700)
    assert stand_in_ids(case) == []


def test_qc_off_places_nothing(pooled):
    from allreview.quality.services import quality_settings_set

    quality_settings_set(
        project=pooled.project, user=pooled.ivan, enabled=False, rate=0.2, accuracy_floor=0.9
    )
    assert stand_in_ids(upload(pooled.project, pooled.ula, "NEW-2", 20, seed=800)) == []


def test_reference_cells_land_at_uniformly_random_positions():
    """Their ids fall among the case's own ids: one extra among nine lands at each of the ten
    places about as often (never only at the end, where a new row's id would be)."""
    own, extra = list(range(9)), [-1]
    places = Counter(interleave(own, extra).index(-1) for _ in range(3000))
    assert set(places) == set(range(10))
    assert all(200 < n < 400 for n in places.values()), places
    assert [c for c in interleave(own, [-1, -2]) if c >= 0] == own  # own order kept


def test_the_reader_sees_them_like_any_cell_in_page_api_and_images(qc_case, pooled):
    reader = login(pooled.dora)
    shown = stand_in_ids(qc_case)
    page = reader.get(f"/cases/{qc_case.pk}/").content.decode()
    rows = json.loads(
        page.split('id="cell-rows" type="application/json">')[1].split("</script>")[0]
    )
    assert {r[0] for r in rows} == set(own_ids(qc_case)) | set(shown)
    assert {len(r) for r in rows} == {6} and all(r[1] is not None for r in rows)
    assert not {c.sha256 for c in Cell.objects.filter(case=qc_case)} & {r[5] for r in rows}
    api = reader.get(f"/api/v1/cases/{qc_case.pk}/cells/?page_size=100").json()["results"]
    assert {c["id"] for c in api} == set(own_ids(qc_case)) | set(shown)
    assert {c["original_name"] for c in api} == {""} and {c["sha256"] for c in api} == {""}
    assert {tuple(sorted(c)) for c in api} == {tuple(sorted(api[0]))}
    for cell in (shown[0], own_ids(qc_case)[0]):
        assert reader.get(f"/cells/{cell}/thumbnail/").status_code == 200
        assert reader.get(f"/cells/{cell}/panel/").json()["name"] == ""
        assert reader.get(f"/api/v1/cells/{cell}/").status_code == 200
    etags = {reader.get(f"/cells/{c}/thumbnail/")["ETag"] for c in shown}
    sources = {p.reference.cell_id for p in ReferencePlacement.objects.filter(case=qc_case)}
    assert etags.isdisjoint({reader.get(f"/cells/{c}/thumbnail/")["ETag"] for c in sources})


def test_who_may_not_label_the_case_does_not_see_them(qc_case, pooled):
    case_reader_add(case=qc_case, user=pooled.alice, reader=pooled.erin)  # double-read now
    for user in (pooled.ula, pooled.alice):  # an uploader; a lead who does not read it
        client = login(user)
        api = client.get(f"/api/v1/cases/{qc_case.pk}/cells/?page_size=100").json()["results"]
        assert {c["id"] for c in api} == set(own_ids(qc_case))
        assert client.get(f"/api/v1/cells/{stand_in_ids(qc_case)[0]}/").status_code == 404
        assert client.get(f"/api/v1/cells/{stand_in_ids(qc_case)[0]}/labels/").status_code == 404
        # the project-wide predictions list would tell them apart: not there either
        listed = _predicted_cells(client, qc_case)
        assert listed == set(own_ids(qc_case))
    assert reading_view(case=qc_case, user=pooled.erin).stand_ins  # the second reader does
    for reader in (pooled.dora, pooled.erin):
        assert _predicted_cells(login(reader), qc_case) == set(own_ids(qc_case)) | set(
            stand_in_ids(qc_case)
        )
    Case.objects.filter(pk=qc_case.pk).update(status=CaseStatus.SIGNED_OFF)  # nor once signed
    assert _predicted_cells(login(pooled.dora), qc_case) == set(own_ids(qc_case))


def _predicted_cells(client, case) -> set[int]:
    body = client.get("/api/v1/predictions/", {"cell__case": case.pk, "page_size": 100}).json()
    return {p["cell"] for p in body["results"]}


def _label_everything(case, reader, stand_in_value: str = "hem") -> None:
    values = dict.fromkeys(own_ids(case), "all")
    values.update(dict.fromkeys(stand_in_ids(case), stand_in_value))
    labels_set_bulk(case=case, user=reader, values=values)


def test_their_labels_never_reach_the_case_record(qc_case, pooled):
    reader = login(pooled.dora)
    shown = stand_in_ids(qc_case)
    before = case_review_counts(case=qc_case)
    response = reader.post(
        f"/cases/{qc_case.pk}/labels/",
        {"cells": shown, "value": "unsure"},
        content_type="application/json",
    )  # the same endpoint and body as for any cell of the case
    assert response.status_code == 201
    assert case_review_counts(case=qc_case) == before  # the case's figures did not move
    mine = case_summary(case=qc_case, user=pooled.dora).counts
    assert mine["total"] == 24 and mine["label_unsure"] == 4  # the reader's page counts them
    _label_everything(qc_case, pooled.dora)
    record = case_summary(case=qc_case)
    assert record.counts["total"] == 20 and record.counts["label_all"] == 20
    assert record.counts["label_hem"] == 0 and record.current_fraction.estimate == 1.0
    sign_off = case_sign_off(case=qc_case, user=pooled.dora)  # the 4 'unsure' reads were replaced
    assert set(sign_off.snapshot["labels"]) == {str(i) for i in own_ids(qc_case)}
    assert set(
        SignedCell.objects.filter(sign_off=sign_off).values_list("cell_id", flat=True)
    ) == set(own_ids(qc_case))
    assert Label.objects.filter(cell_id__in=shown).count() == 8  # audited label rows as usual
    signed_page = login(pooled.dora).get(f"/api/v1/cases/{qc_case.pk}/cells/?page_size=100")
    assert {c["id"] for c in signed_page.json()["results"]} == set(own_ids(qc_case))


def test_exports_agreement_training_and_adjudication_leave_them_out(qc_case, pooled):
    case_reader_add(case=qc_case, user=pooled.alice, reader=pooled.erin)
    _label_everything(qc_case, pooled.dora, "hem")
    _label_everything(qc_case, pooled.erin, "all")  # the readers disagree on every stand-in
    shown = set(stand_in_ids(qc_case))
    assert disputed_count(case=qc_case) == 0
    assert not shown & set(
        adjudication_queue(project=pooled.project, user=pooled.alice).values_list("id", flat=True)
    )
    assert not shown & set(project_reads(project=pooled.project).labels)
    case_sign_off(case=qc_case, user=pooled.dora)
    assert not shown & set(
        final_labelled_cells(project=pooled.project).values_list("id", flat=True)
    )
    exported = login(pooled.alice).get(f"/exports/{pooled.project.pk}/cells.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    ids = {int(r["cell_id"]) for r in rows}
    assert set(own_ids(qc_case)) <= ids and not shown & ids


def test_sign_off_records_each_readers_call_apart_from_labels(qc_case, pooled):
    case_reader_add(case=qc_case, user=pooled.alice, reader=pooled.erin)
    _label_everything(qc_case, pooled.dora, "hem")
    _label_everything(qc_case, pooled.erin, "all")
    sign_off = case_sign_off(case=qc_case, user=pooled.dora)
    recorded = ReferenceLabel.objects.filter(sign_off=sign_off)
    assert recorded.count() == 8
    known = answers(qc_case)
    for row in recorded.select_related("placement", "user"):
        assert row.answer == known[row.placement.stand_in_id]
        assert row.value == {"dora": "hem", "erin": "all"}[row.user.username]
    case_reopen(case=qc_case, user=pooled.alice, reason="look again")
    labels_set_bulk(
        case=qc_case, user=pooled.dora, values=dict.fromkeys(stand_in_ids(qc_case), "all")
    )
    again = case_sign_off(case=qc_case, user=pooled.dora)
    assert set(
        ReferenceLabel.objects.filter(sign_off=again, user=pooled.dora).values_list(
            "value", flat=True
        )
    ) == {"all"}


def test_the_thumbnail_pack_holds_them_like_the_case_own_cells(qc_case, pooled):
    """Issue 12's gallery paints from one pack; a reference cell missing from it would be the
    one thumbnail fetched on its own, and so stand out."""
    from django.core.files.storage import default_storage

    from allreview.lib.thumbpack import thumbnail_unpack

    qc_case.refresh_from_db()
    with default_storage.open(qc_case.thumbnail_pack.name, "rb") as file:
        packed = thumbnail_unpack(file.read())
    assert set(packed) == set(own_ids(qc_case)) | set(stand_in_ids(qc_case))
    for cell_id in stand_in_ids(qc_case):
        cell = Cell.objects.get(pk=cell_id)
        with default_storage.open(cell.thumbnail.name, "rb") as file:
            assert packed[cell_id] == file.read()
