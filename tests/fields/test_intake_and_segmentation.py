"""Fields come in through the same doors as cells, are told apart by content, and are segmented
into cells on a worker before classification, once."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import call_command
from django.test import Client
from PIL import Image

from allreview.audit.models import AuditEvent
from allreview.cases.ingest import IncomingFile, UploadRejected
from allreview.cases.models import Case, CaseStatus, Cell
from allreview.cases.services import case_enqueue, case_retry, case_upload
from allreview.fields.models import CellProvenance, Field, FieldSettings, FieldStatus
from allreview.fields.segmentation import case_fields_segment, field_claim
from allreview.lib.fieldimages import looks_like_field
from allreview.lib.imaging import check_image
from smear.masks import rle_decode
from tests.fields.helpers import WHITE_CELLS, drawn_field
from tests.helpers import encode

pytestmark = pytest.mark.django_db


def test_upload_keeps_fields_apart_from_single_cells(field_case):
    field = Field.objects.get(case=field_case)
    assert (field.width, field.height, field.status) == (1000, 750, FieldStatus.PENDING)
    assert field_case.cells.count() == 1  # only the single cell, until the field is segmented
    event = AuditEvent.objects.get(action="case.upload", case_id=field_case.pk)
    assert event.after == {"cells": 1, "fields": 1}


def test_a_large_cell_on_black_is_a_cell_and_a_bright_image_is_a_field():
    cell = Image.new("RGB", (900, 900))
    cell.paste((80, 30, 90), (300, 300, 600, 600))
    cell_thumb = check_image(encode(cell, "PNG")).thumbnail
    assert not looks_like_field(width=900, height=900, thumbnail=cell_thumb, min_side=800)
    field_thumb = check_image(drawn_field()).thumbnail
    assert looks_like_field(width=1000, height=750, thumbnail=field_thumb, min_side=800)
    assert not looks_like_field(width=600, height=450, thumbnail=field_thumb, min_side=800)


def test_field_over_the_field_limit_is_refused_and_nothing_stored(lab_a, alice, settings):
    settings.FIELD_MAX_PIXELS = 500_000
    with pytest.raises(UploadRejected) as refused:
        case_upload(
            project=lab_a,
            user=alice,
            patient_code="F-2",
            files=[IncomingFile("big.jpg", drawn_field())],
        )
    assert "over the field limit of 500000 pixels" in str(refused.value)
    assert not Case.objects.exists() and not Field.objects.exists()


def test_a_field_in_a_zip_over_the_api_is_a_field(lab_a, alice):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("slide/field1.jpg", drawn_field())
    client = Client()
    client.force_login(alice)
    archive.name = "fields.zip"
    archive.seek(0)
    response = client.post(
        f"/api/v1/cases/?project={lab_a.pk}",
        {"project": lab_a.pk, "patient_code": "F-3", "files": archive},
    )
    assert response.status_code == 201, response.content
    assert Field.objects.filter(case_id=response.json()["id"]).count() == 1


def test_import_command_takes_fields_from_a_folder(lab_a, alice, tmp_path):
    (tmp_path / "field.jpg").write_bytes(drawn_field(seed=4))
    call_command("import_cases", str(tmp_path), project=lab_a.name, patient="F-4")
    assert Field.objects.filter(case__patient_code="F-4").count() == 1


def test_enqueue_sends_segmentation_first_then_classification(field_case, sent):
    case_enqueue(case_id=field_case.pk)
    assert sent == [("case_segment", field_case.pk)]
    case_fields_segment(case_id=field_case.pk)
    assert sent[-1] == ("case_classify", field_case.pk)


def test_segmentation_cuts_each_white_cell_into_a_cell_with_provenance(field_case, sent):
    case_fields_segment(case_id=field_case.pk)
    field = Field.objects.get(case=field_case)
    assert field.status == FieldStatus.DONE and field.cells_found == len(WHITE_CELLS)
    provenance = list(CellProvenance.objects.filter(field=field).select_related("cell"))
    assert len(provenance) == 3 and field_case.cells.count() == 4
    for p in provenance:
        assert (p.cell.width, p.cell.height, p.cell.image_format) == (450, 450, "PNG")
        assert rle_decode(p.mask).shape == (p.y1 - p.y0, p.x1 - p.x0)
        assert p.polygon and 0 < p.score <= 1 and not p.edge
    centres = sorted(((p.x0 + p.x1) // 2, (p.y0 + p.y1) // 2) for p in provenance)
    expected = sorted((x, y) for x, y, _ in WHITE_CELLS)
    assert all(
        abs(a[0] - b[0]) <= 3 and abs(a[1] - b[1]) <= 3
        for a, b in zip(centres, expected, strict=True)
    )


def test_segmentation_uses_the_project_scale(field_case, sent):
    FieldSettings.objects.create(project=field_case.project, cell_diameter=150.0)
    case_fields_segment(case_id=field_case.pk)
    assert Field.objects.get(case=field_case).cell_diameter == 150.0


def test_a_redelivered_segmentation_does_nothing_twice(field_case, sent):
    case_fields_segment(case_id=field_case.pk)
    cells = Cell.objects.count()
    Case.objects.filter(pk=field_case.pk).update(status=CaseStatus.QUEUED)
    case_fields_segment(case_id=field_case.pk)
    assert Cell.objects.count() == cells


def test_a_field_claimed_by_a_live_worker_is_left_alone_until_its_lease_lapses(
    field_case, settings
):
    field = Field.objects.get(case=field_case)
    assert field_claim(field_id=field.pk) is not None
    assert field_claim(field_id=field.pk) is None
    settings.FIELD_SEGMENT_LEASE_SECONDS = -1
    assert field_claim(field_id=field.pk) is not None


def test_a_field_that_cannot_be_read_fails_the_case_with_the_reason_and_retry_resumes(
    field_case, sent, alice, monkeypatch
):
    monkeypatch.setattr(
        "allreview.fields.segmentation.field_pixels",
        lambda field: (_ for _ in ()).throw(OSError("disk gone")),
    )
    case_fields_segment(case_id=field_case.pk)
    field_case.refresh_from_db()
    assert field_case.status == CaseStatus.FAILED
    assert "Finding cells in a field failed: OSError: disk gone" in field_case.status_detail
    assert Field.objects.get(case=field_case).status == FieldStatus.FAILED
    monkeypatch.undo()
    for where in ("allreview.cases.services", "allreview.fields.segmentation"):
        monkeypatch.setattr(
            f"{where}.task_send", lambda task, *a: sent.append((task.name, *a)) or True
        )
    case_retry(case=field_case, user=alice)
    case_fields_segment(case_id=field_case.pk)
    assert Field.objects.get(case=field_case).status == FieldStatus.DONE
    assert field_case.cells.count() == 4


def test_the_case_page_lists_its_fields_and_the_cell_panel_links_back(field_case, sent, alice):
    case_fields_segment(case_id=field_case.pk)
    field = Field.objects.get(case=field_case)
    client = Client()
    client.force_login(alice)
    page = client.get(f"/cases/{field_case.pk}/").content.decode()
    assert f'href="/fields/{field.pk}/"' in page and "3 cells" in page
    cell = CellProvenance.objects.filter(field=field).first().cell
    assert client.get(f"/cells/{cell.pk}/panel/").json()["field"] == field.pk
    single = field_case.cells.exclude(provenance__isnull=False).get()
    assert client.get(f"/cells/{single.pk}/panel/").json()["field"] is None


def test_a_classification_message_for_an_unsegmented_case_goes_to_segmentation(
    field_case, sent, monkeypatch
):
    from allreview.cases import classification

    monkeypatch.setattr(classification, "model_version_production", lambda project=None: object())
    classification.case_classify(case_id=field_case.pk)
    field_case.refresh_from_db()
    assert field_case.status == CaseStatus.QUEUED  # not claimed for classification
    assert sent == [("case_segment", field_case.pk)]


def test_field_cells_get_the_model_input_inference_would_cut_from_their_crop(field_case, sent):
    import io

    from django.core.files.storage import default_storage
    from PIL import Image

    from classifier.crops import crop_image
    from classifier.profiles import DEFAULT_PROFILE, PROFILES

    geometry = PROFILES[DEFAULT_PROFILE].crop_geometry  # no production model yet
    case_fields_segment(case_id=field_case.pk)
    cut = Cell.objects.filter(case=field_case, provenance__isnull=False)
    assert cut.count() == 3
    for cell in cut:
        assert cell.model_input_geometry == geometry.key
        with default_storage.open(cell.model_input.name, "rb") as handle:
            stored = Image.open(io.BytesIO(handle.read())).convert("RGB")
        with default_storage.open(cell.image.name, "rb") as handle:
            expected = crop_image(
                handle.read(), fraction=geometry.fraction, size=geometry.size, name="x"
            )
        assert stored.tobytes() == expected.tobytes()
    field = Field.objects.get(case=field_case)  # the field itself is never a model's input
    folder = field.image.name.rsplit("/", 1)[0]
    assert sorted(default_storage.listdir(folder)[1]) == sorted(
        name.rsplit("/", 1)[1] for name in (field.image.name, field.thumbnail.name)
    )


def test_a_failed_segmentation_leaves_no_files_behind(field_case, sent, monkeypatch):
    from django.core.files.storage import default_storage

    from allreview.fields import segmentation

    def refuse(**kwargs):
        raise RuntimeError("disk full")

    written: list[str] = []
    real_save = default_storage.save

    def save(name, content):
        written.append(real_save(name, content))
        return written[-1]

    monkeypatch.setattr(default_storage, "save", save)
    monkeypatch.setattr(segmentation.CellProvenance.objects, "bulk_create", refuse)
    case_fields_segment(case_id=field_case.pk)
    assert Field.objects.get(case=field_case).status == FieldStatus.FAILED
    assert len(written) == 3 * 3  # crop, thumbnail and model input of three cells
    assert not any(default_storage.exists(name) for name in written)
    assert not Cell.objects.filter(case=field_case, provenance__isnull=False).exists()


@pytest.mark.parametrize(
    ("fmt", "mode", "orientation"),
    [
        ("JPEG", "RGB", 6),
        ("JPEG", "RGB", 3),
        ("JPEG", "L", 1),
        ("PNG", "RGBA", 8),
        ("TIFF", "P", 1),
    ],
)
def test_field_pixels_are_the_upright_rgb_pixels_a_browser_shows(fmt, mode, orientation):
    import numpy as np
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import ImageOps

    from allreview.fields.crops import field_pixels

    rng = np.random.default_rng(orientation)
    image = Image.fromarray(rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)).convert(mode)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, fmt, exif=exif.tobytes())
    name = default_storage.save(f"t/field.{fmt.lower()}", ContentFile(out.getvalue()))
    pixels = field_pixels(Field(image=name))
    expected = np.asarray(ImageOps.exif_transpose(Image.open(out)).convert("RGB"))
    assert pixels.dtype == np.uint8 and pixels.shape == expected.shape
    assert np.array_equal(pixels, expected)
    assert pixels.shape[:2] == ((160, 90) if orientation in {6, 8} else (90, 160))
