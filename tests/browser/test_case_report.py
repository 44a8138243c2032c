"""The printable case report and the FHIR download in a real chromium (issue 15): from the
sign-off section of a signed case of real C-NMC cells (synthetic when the data set is absent),
the report shows every blast thumbnail, the readers, the model and the decision-support notice;
printed, the navigation goes and the report fits A4 pages; the download is a valid bundle."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from allreview.cases.models import CellClass
from allreview.projects.models import Role
from allreview.review.services.labels import labels_set_bulk
from allreview.review.services.readers import case_reader_add
from allreview.review.services.signoff import case_sign_off
from tests.browser.cases import classified_case, cnmc_files, log_in, synthetic_files
from tests.factories import MembershipFactory, ModelVersionFactory, UserFactory
from tests.paths import CNMC_DIR, REPO

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def signed(alice, lab_a, monkeypatch, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    monkeypatch.setattr("allreview.cases.services.case_enqueue", lambda case_id: None)
    rita = UserFactory(username="rita", first_name="Rita", last_name="Reader")
    MembershipFactory(project=lab_a, user=rita, role=Role.REVIEWER)
    files = cnmc_files(CNMC_DIR, 24) if CNMC_DIR.is_dir() else synthetic_files(24)
    model = ModelVersionFactory(name="report-model", project=lab_a)
    case = classified_case(project=lab_a, user=alice, model=model, files=files, code="PT-0501")
    case_reader_add(case=case, user=alice, reader=rita)
    cells = list(case.cells.order_by("id"))
    calls = {c.pk: c.truth or ("all" if i % 2 == 0 else "hem") for i, c in enumerate(cells)}
    labels_set_bulk(case=case, user=rita, values=calls)
    case_sign_off(case=case, user=rita)
    blasts = sum(1 for value in calls.values() if value == CellClass.ALL)
    return case, blasts


def test_printable_report_and_fhir_download_from_the_sign_off_section(page, live_server, signed):
    case, blasts = signed
    log_in(page, live_server, "rita")
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    with page.expect_download() as download:
        page.click("#fhir-download")
    bundle = Bundle.model_validate_json(Path(download.value.path()).read_bytes())
    report = json.loads(bundle.model_dump_json())["entry"][0]["resource"]
    assert report["status"] == "final"

    page.click("#printable-report")
    page.wait_for_url(f"{live_server.url}/cases/{case.pk}/report/")
    assert page.inner_text("#report-status").strip() == "FINAL"
    assert "Rita Reader" in page.inner_text("#report-readers")
    assert "report-model" in page.inner_text("#report-model")
    assert "not a diagnosis" in page.inner_text("#decision-support")
    images = page.locator(".report-gallery img")
    assert images.count() == blasts > 0
    page.wait_for_function(
        "[...document.querySelectorAll('.report-gallery img')].every(i => i.complete)"
    )
    assert page.evaluate(
        "[...document.querySelectorAll('.report-gallery img')].every(i => i.naturalWidth > 0)"
    )
    if os.environ.get("ALLREVIEW_SCREENSHOTS") == "1":
        page.screenshot(path=str(REPO / "docs" / "img" / "case_report.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.is_visible(".topbar") and not page.is_visible("button:has-text('Print')")
    assert page.is_visible("#decision-support")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 1
