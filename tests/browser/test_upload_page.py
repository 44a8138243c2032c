"""The upload page in a real browser: files chosen, the transfer shown, then the new case. The
page's script names the project in the address, so the server checks each file as it arrives."""

from __future__ import annotations

import re

import pytest

from allreview.cases.models import Case
from tests.browser.cases import log_in
from tests.helpers import encode

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_a_case_from_the_page(
    page, live_server, alice, lab_a, monkeypatch, settings, tmp_path, prechecked
):
    from classifier.synthetic import make_cell

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    monkeypatch.setattr("allreview.cases.services.task_send", lambda task, *a: True)
    paths = []
    for i in range(4):
        path = tmp_path / f"cell_{i}.png"
        path.write_bytes(encode(make_cell("all" if i % 2 else "hem", 900 + i), "PNG"))
        paths.append(str(path))

    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/cases/new/")
    page.fill("input[name=patient_code]", "PAGE-0001")
    page.set_input_files("input[name=files]", paths)
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/cases/\d+/$"))
    case = Case.objects.get(patient_code="PAGE-0001")
    assert page.url.endswith(f"/cases/{case.pk}/")
    assert case.cells.count() == 4 and prechecked == [4]
