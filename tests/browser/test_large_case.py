"""A 2,000-cell case stays responsive: the gallery draws quickly and a key answers at once."""

from __future__ import annotations

import pytest

from tests.browser.cases import log_in
from tests.factories import CaseFactory, CellFactory, ModelVersionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_two_thousand_cells_draw_fast_and_keys_answer_at_once(
    page, live_server, alice, lab_a, settings
):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    case = CaseFactory(project=lab_a)
    CellFactory.create_for_case(case, 2000, model_version=ModelVersionFactory(name="m-large"))
    # rows only: thumbnails answer 404 here; the subject is drawing and keys, not image bytes
    page.route("**/thumbnail/**", lambda route: route.fulfill(status=204))
    page.route("**/image/", lambda route: route.fulfill(status=204))
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    assert page.locator("#gallery li").count() == 2000
    # case.js measures its own drawing of every tile (build, insert, focus the first)
    drawn_ms = page.evaluate("performance.getEntriesByName('gallery-drawn')[0].duration")
    assert drawn_ms < 500, f"the gallery took {drawn_ms:.0f} ms to draw"
    # time from key press to the tile showing its new label, measured inside the page
    reaction_ms = page.evaluate(
        """() => new Promise((resolve) => {
            const tile = document.activeElement;
            const start = performance.now();
            new MutationObserver((_, observer) => {
                observer.disconnect();
                resolve(performance.now() - start);
            }).observe(tile, { attributes: true, attributeFilter: ["class"] });
            tile.dispatchEvent(new KeyboardEvent("keydown", { key: "a", bubbles: true }));
        })"""
    )
    print(f"2,000 cells: gallery drawn in {drawn_ms:.0f} ms, key to screen {reaction_ms:.1f} ms")
    assert reaction_ms < 50, f"the screen answered a key after {reaction_ms:.1f} ms"
    page.wait_for_function("document.getElementById('flash').textContent.includes('Saved')")
