"""Reader QC in chromium: a reference cell in a reader's gallery is labelled with the same keys as
the case's own cells and does not change the case's summary; the reader-quality page (and, on
purpose, its screenshot for the docs: ALLREVIEW_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from allreview.cases.models import Case, Label
from allreview.projects.models import Role
from allreview.quality.models import ReferenceCell
from allreview.quality.services import quality_settings_set, reference_cells_add
from allreview.review.selectors.gallery import case_review_counts
from allreview.review.services.labels import labels_set_bulk
from allreview.review.services.readers import case_reader_add
from allreview.review.services.signoff import case_sign_off
from tests.browser.cases import classified_case, log_in, synthetic_files
from tests.factories import MembershipFactory, UserFactory
from tests.paths import REPO

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _member(project, name: str, role: str = Role.REVIEWER):
    user = UserFactory(username=name)
    MembershipFactory(project=project, user=user, role=role)
    return user


@pytest.fixture
def qc_world(alice, lab_a, production_model, monkeypatch, settings):
    """A signed-off source case whose 16 cells two readers agreed on, all in the pool; QC on at
    the highest rate."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    monkeypatch.setattr("allreview.cases.services.case_enqueue", lambda case_id: None)
    dora, erin = _member(lab_a, "dora"), _member(lab_a, "erin")
    kw = {"project": lab_a, "user": alice, "model": production_model}
    source = classified_case(files=synthetic_files(16, offset=300), code="SRC-1", **kw)
    case_reader_add(case=source, user=alice, reader=dora)
    case_reader_add(case=source, user=alice, reader=erin)
    truth = {
        c.pk: ("all" if i % 2 == 0 else "hem") for i, c in enumerate(source.cells.order_by("id"))
    }
    for reader in (dora, erin):
        labels_set_bulk(case=source, user=reader, values=truth)
    case_sign_off(case=source, user=dora)
    reference_cells_add(project=lab_a, user=alice, cell_ids=list(truth))
    admin = _member(lab_a, "ivan", Role.ADMIN)
    quality_settings_set(project=lab_a, user=admin, enabled=True, rate=0.2, accuracy_floor=0.9)
    return {"kw": kw, "dora": dora, "erin": erin, "lab": lab_a}


def test_a_reference_cell_is_labelled_with_the_same_keys_and_leaves_the_summary(
    page, live_server, qc_world
):
    case = classified_case(files=synthetic_files(20), code="QC-1", **qc_world["kw"])
    case_reader_add(case=case, user=qc_world["dora"], reader=qc_world["dora"])
    stand_in = case.cells.filter(is_reference=True).order_by("id").first()
    own = case.cells.filter(is_reference=False).order_by("id").first()
    assert stand_in is not None
    before = case_review_counts(case=case)

    log_in(page, live_server, "dora")
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    tiles = page.eval_on_selector_all("#gallery li", "els => els.map(e => e.id)")
    assert f"tile-{stand_in.pk}" in tiles and f"tile-{own.pk}" in tiles and len(tiles) == 24
    shape = "el => [el.tagName, el.getAttributeNames().sort().join(','), el.children.length]"
    assert page.eval_on_selector(f"#tile-{stand_in.pk}", shape) == page.eval_on_selector(
        f"#tile-{own.pk}", shape
    )

    page.click(f"#tile-{stand_in.pk}")
    page.keyboard.press("a")  # blast, the key used for every cell
    page.wait_for_function("() => document.getElementById('flash').textContent.includes('Saved')")
    assert "label-all" in page.get_attribute(f"#tile-{stand_in.pk}", "class")
    assert Label.objects.filter(cell=stand_in, value="all", user=qc_world["dora"]).exists()
    assert case_review_counts(case=case) == before  # the case's summary did not move

    page.evaluate("() => { document.getElementById('flash').textContent = ''; }")
    page.click(f"#tile-{own.pk}")
    page.keyboard.press("h")
    page.wait_for_function("() => document.getElementById('flash').textContent.includes('Saved')")
    after = case_review_counts(case=case)
    assert after["label_hem"] == before["label_hem"] + 1 and after["total"] == 20


@pytest.mark.skipif(
    os.environ.get("ALLREVIEW_SCREENSHOTS") != "1",
    reason="screenshots are made on purpose: set ALLREVIEW_SCREENSHOTS=1",
)
def test_quality_page_screenshot(page, live_server, qc_world, alice, monkeypatch):
    """Three readers over three months: dora right, erin mostly, finn calling blasts normal."""
    finn = _member(qc_world["lab"], "finn")
    readers = {"dora": qc_world["dora"], "erin": qc_world["erin"], "finn": finn}
    now = timezone.now()
    for month in (2, 1, 0):
        for name, reader in readers.items():
            when = now - timedelta(days=30 * month)
            monkeypatch.setattr("django.utils.timezone.now", lambda when=when: when)
            case = classified_case(
                files=synthetic_files(40, offset=1000 + 100 * month + 40 * len(name)),
                code=f"M{month}-{name}",
                **qc_world["kw"],
            )
            case_reader_add(case=case, user=reader, reader=reader)
            answers = dict(
                ReferenceCell.objects.filter(placements__case=case).values_list(
                    "placements__stand_in_id", "answer"
                )
            )
            calls = {c: "hem" for c in case.cells.values_list("id", flat=True)}
            for i, (cell, answer) in enumerate(sorted(answers.items())):
                wrong = (name == "finn" and answer == "all") or (name == "erin" and i % 4 == 3)
                calls[cell] = ("unsure" if name == "erin" else "hem") if wrong else answer
            labels_set_bulk(case=case, user=reader, values=calls)
            case_sign_off(case=Case.objects.get(pk=case.pk), user=reader)
    monkeypatch.undo()
    page.set_viewport_size({"width": 1366, "height": 1000})
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/projects/{qc_world['lab'].pk}/quality/")
    assert page.locator("#quality-overall tbody tr").count() == 3
    page.screenshot(path=str(REPO / "docs" / "img" / "reader_quality.png"), full_page=True)
