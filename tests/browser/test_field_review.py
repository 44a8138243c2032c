"""A field under review in a real browser (issue 14): outlines coloured by label, click an outline
to focus its cell and back, reject a detection and restore it, add a missed cell by clicking it.
With ALLREVIEW_SCREENSHOTS=1 it also writes docs/img/field_review.png."""

from __future__ import annotations

import os

import pytest

from allreview.cases.classification import predictions_store
from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, CaseStatus, Cell
from allreview.cases.services import case_upload
from allreview.fields.models import CellOrigin, CellProvenance, Field
from allreview.fields.segmentation import case_fields_segment
from allreview.mlmodels.runtime import predictor_for
from allreview.review.services.labels import labels_set_bulk
from tests.browser.cases import log_in
from tests.fields.helpers import drawn_field
from tests.paths import CNMC_DIR, REPO

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _field_bytes() -> tuple[bytes, list]:
    """A generated field from real C-NMC cells (with its truth) when present, else a drawn one."""
    if (CNMC_DIR / "labels.csv").exists():
        from smear.generate import FieldConfig, field_generate, sources_from_cnmc
        from smear.io import jpeg_bytes

        config = FieldConfig(width=1600, height=1000, white_cells=(7, 7), edge_cells=(1, 1))
        generated = field_generate(sources_from_cnmc(CNMC_DIR), config, seed=2026)
        return jpeg_bytes(generated.image), generated.cells
    return drawn_field(), []


@pytest.fixture
def field_in_review(alice, lab_a, production_model, monkeypatch, settings) -> Field:
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    monkeypatch.setattr("allreview.cases.services.task_send", lambda task, *a: True)
    monkeypatch.setattr("allreview.lib.queueing.task_send", lambda task, *a: True)
    data, truth = _field_bytes()
    case = case_upload(
        project=lab_a, user=alice, patient_code="PT-0500", files=[IncomingFile("f.jpg", data)]
    )
    case_fields_segment(case_id=case.pk)
    cells = list(case.cells.order_by("id"))
    predictions_store(
        predictor=predictor_for(production_model),
        model_version=production_model,
        cells=[(c.pk, c.image.name) for c in cells],
    )
    Case.objects.filter(pk=case.pk).update(model_version=production_model, status=CaseStatus.READY)
    if truth:  # the reviewer has read two cells: their labels colour the outlines
        labels_set_bulk(case=case, user=alice, values=_truth_labels(cells[:2], truth))
    return Field.objects.get(case=case)


def _truth_labels(cells: list[Cell], truth: list) -> dict[int, str]:
    from smear.masks import Box

    values = {}
    for cell in cells:
        p = cell.provenance
        box = Box(p.x0, p.y0, p.x1, p.y1)
        values[cell.pk] = max(truth, key=lambda t: t.box.iou(box)).source.label
    return values


def screen_point(page, field: Field, x: int, y: int) -> tuple[float, float]:
    box = page.locator("#field-svg").bounding_box()
    return box["x"] + x * box["width"] / field.width, box["y"] + y * box["height"] / field.height


def wait_flash(page, text: str) -> None:
    page.wait_for_function(
        "t => document.getElementById('flash').textContent.includes(t)", arg=text
    )


def test_reject_a_detection_and_add_a_missed_cell_on_the_field(page, live_server, field_in_review):
    field = field_in_review
    # One detected cell is taken back out, as if the segmentation had missed it.
    missed = CellProvenance.objects.filter(field=field).order_by("-id").first()
    cx, cy = (missed.x0 + missed.x1) // 2, (missed.y0 + missed.y1) // 2
    missed.cell.delete()
    shown = CellProvenance.objects.filter(field=field).count()

    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/fields/{field.pk}/")
    polygons = page.locator("#outlines polygon")
    assert polygons.count() == shown
    first = CellProvenance.objects.filter(field=field).order_by("id").first()

    page.locator(f"#outline-{first.cell_id}").click()  # field -> list
    assert page.locator(f"#tile-{first.cell_id}").get_attribute("aria-selected") == "true"
    assert page.locator("#focus-gallery").get_attribute("href").endswith(f"#cell-{first.cell_id}")
    second = CellProvenance.objects.filter(field=field).order_by("id")[1]
    page.locator(f"#tile-{second.cell_id}").click()  # list -> field
    assert "focused" in page.locator(f"#outline-{second.cell_id}").get_attribute("class")

    page.fill("#reject-reason", "stain debris")
    page.click("#reject-button")
    wait_flash(page, "Detection rejected")
    assert "rejected" in page.locator(f"#outline-{second.cell_id}").get_attribute("class")
    second.refresh_from_db()
    assert second.rejected_at is not None and second.reject_reason == "stain debris"

    # Rejected by mistake: restored (its earlier label back), then rejected again.
    assert page.locator("#restore-row").is_visible() and page.locator("#reject-form").is_hidden()
    page.click("#restore-button")
    wait_flash(page, "Detection restored")
    assert "rejected" not in page.locator(f"#outline-{second.cell_id}").get_attribute("class")
    assert CellProvenance.objects.get(pk=second.pk).rejected_at is None
    page.fill("#reject-reason", "stain debris")
    page.click("#reject-button")
    wait_flash(page, "Detection rejected")
    assert page.locator("#restore-row").is_visible()

    page.click("#add-mode")
    page.mouse.click(*screen_point(page, field, cx, cy))
    wait_flash(page, "added")
    added = CellProvenance.objects.get(field=field, origin=CellOrigin.ADDED)
    assert added.x0 <= cx < added.x1 and added.y0 <= cy < added.y1
    assert polygons.count() == shown + 1
    assert page.locator(f"#tile-{added.cell_id}").get_attribute("aria-selected") == "true"

    # From the gallery back to the field: the case page links the focused cell to its field.
    page.goto(f"{live_server.url}/cases/{field.case_id}/#cell-{first.cell_id}")
    link = page.locator("#cell-field-link a")
    link.wait_for()
    assert link.get_attribute("href") == f"/fields/{field.pk}/#cell-{first.cell_id}"

    if os.environ.get("ALLREVIEW_SCREENSHOTS") == "1":
        page.goto(f"{live_server.url}/fields/{field.pk}/#cell-{first.cell_id}")
        page.locator(f"#outline-{first.cell_id}.focused").wait_for()
        page.screenshot(path=str(REPO / "docs" / "img" / "field_review.png"))
