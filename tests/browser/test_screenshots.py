"""Screenshots for the docs (docs/img/review_*.png) at 1366x768, from real C-NMC cells when the
data set is present. Run on purpose: ALLREVIEW_SCREENSHOTS=1 pytest tests/browser -k screenshots"""

from __future__ import annotations

import os

import pytest

from allreview.cases.models import Case, CaseStatus
from allreview.review.services.labels import labels_set_bulk
from allreview.review.services.readers import case_assign
from tests.browser.cases import classified_case, cnmc_files, log_in, synthetic_files
from tests.paths import CNMC_DIR, REPO

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("ALLREVIEW_SCREENSHOTS") != "1",
        reason="screenshots are made on purpose: set ALLREVIEW_SCREENSHOTS=1",
    ),
]
OUT = REPO / "docs" / "img"


@pytest.fixture
def cases(alice, lab_a, production_model, monkeypatch, settings) -> Case:
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    monkeypatch.setattr("allreview.cases.tasks.case_classify.delay", lambda case_id: None)
    from allreview.review import saliency

    monkeypatch.setattr(
        saliency,
        "saliency_enqueue",
        lambda prediction_id: saliency.prediction_saliency_compute(prediction_id=prediction_id),
    )
    files = cnmc_files(CNMC_DIR, 72) if CNMC_DIR.is_dir() else synthetic_files(72)
    kw = {"project": lab_a, "user": alice, "model": production_model}
    for i, code in enumerate(("PT-0412", "PT-0413", "PT-0415")):
        other = classified_case(files=synthetic_files(6 + 4 * i, offset=100 * i), code=code, **kw)
        if i == 0:
            labels_set_bulk(case=other, user=alice, values={c.pk: "hem" for c in other.cells.all()})
            Case.objects.filter(pk=other.pk).update(status=CaseStatus.SIGNED_OFF)
        if i == 1:
            case_assign(case=other, user=alice, assignee=alice)
    case = classified_case(files=files, code="PT-0420", **kw)
    cells = list(case.cells.order_by("id"))
    labels_set_bulk(case=case, user=alice, values={c.pk: c.truth for c in cells[:30]})
    labels_set_bulk(
        case=case, user=alice, values={cells[31].pk: "unsure", cells[33].pk: "artifact"}
    )
    return case


def test_screenshots(page, live_server, cases):
    OUT.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "alice")
    page.screenshot(path=str(OUT / "review_worklist.png"))
    page.goto(f"{live_server.url}/cases/{cases.pk}/")
    page.wait_for_function(
        "[...document.querySelectorAll('#gallery img')].slice(0, 12).every(i => i.complete)"
    )
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    for _ in range(2):
        page.keyboard.press("Shift+ArrowRight")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "review_gallery.png"))
    page.keyboard.press("Escape")
    page.keyboard.press("s")
    page.wait_for_selector("#cell-saliency:not([hidden])", timeout=60_000)
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "review_cell.png"))
