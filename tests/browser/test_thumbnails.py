"""The gallery paints its thumbnails from one request, then from the browser's cache (issue 12,
must-have 3). The time it takes is measured by scripts/bench/gallery_paint.py, not here."""

from __future__ import annotations

import pytest

from allreview.review.thumbnails import thumbnail_pack_url, thumbnail_url
from tests.browser.cases import classified_case, log_in, synthetic_files
from tests.factories import ModelVersionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every gallery image inside the viewport has loaded a real thumbnail (128 px wide).
VISIBLE_PAINTED = """() => {
  const visible = [...document.querySelectorAll("#gallery img")].filter((i) => {
    const r = i.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
  });
  return visible.length > 0 && visible.every((i) => i.complete && i.naturalWidth === 128)
    && visible.length;
}"""

PACK_TRANSFER = """() => {
  const entry = performance.getEntriesByType("resource").find((e) => e.name.endsWith(".pack"));
  return entry ? entry.transferSize : null;
}"""


def test_gallery_paints_every_visible_thumbnail_from_one_request_then_from_the_cache(
    page, live_server, alice, lab_a, settings
):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    case = classified_case(
        project=lab_a,
        user=alice,
        model=ModelVersionFactory(name="m-thumbs"),
        files=synthetic_files(60),
        code="THUMBS-1",
    )
    log_in(page, live_server, "alice")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/thumbnail" in r.url else None)

    page.goto(f"{live_server.url}/cases/{case.pk}/")
    visible = page.wait_for_function(VISIBLE_PAINTED).json_value()
    assert visible >= 10
    assert asked == [f"{live_server.url}{thumbnail_pack_url(case)}"]
    assert page.evaluate(PACK_TRANSFER) > 0  # it came over the network

    page.goto(f"{live_server.url}/cases/{case.pk}/")
    assert page.wait_for_function(VISIBLE_PAINTED).json_value() == visible
    assert page.evaluate(PACK_TRANSFER) == 0  # immutable: from the browser's cache, not asked


def test_gallery_without_a_pack_paints_thumbnails_at_their_addresses(
    page, live_server, alice, lab_a, settings
):
    from allreview.cases.models import Case

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    case = classified_case(
        project=lab_a,
        user=alice,
        model=ModelVersionFactory(name="m-nopack"),
        files=synthetic_files(12),
        code="THUMBS-2",
    )
    Case.objects.filter(pk=case.pk).update(thumbnail_pack="")  # a case from before packs
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    assert page.wait_for_function(VISIBLE_PAINTED).json_value() == 12
    sources = page.eval_on_selector_all("#gallery img", "(imgs) => imgs.map((i) => i.src)")
    # per-row addresses, never the bare image hash (it would link a reader QC cell to its source)
    addresses = {f"{live_server.url}{thumbnail_url(c.pk, c.sha256)}" for c in case.cells.all()}
    assert set(sources) == addresses
