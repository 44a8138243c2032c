"""One refusal path: the status says why (403 not allowed, 409 moved on, 400 invalid), pages and
JSON alike, and a conflict carries the state as it is now."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory

from allreview.lib.refusals import refusal_json, refusal_response, refusal_status
from allreview.review.errors import CaseLocked, StaleLabels, StaleView


def test_each_refusal_has_its_status():
    assert refusal_status(PermissionDenied("no")) == 403
    assert refusal_status(ValidationError("bad")) == 400
    assert refusal_status(CaseLocked()) == 409  # a ValidationError, but a conflict first
    assert refusal_status(StaleView(7)) == 409


def test_a_conflict_answers_the_fresh_state():
    body = json.loads(refusal_json(StaleLabels({"cells": []}, "labelled since")).content)
    assert body == {"detail": "labelled since", "fresh": {"cells": []}}
    assert json.loads(refusal_json(StaleView(7)).content)["newest"] == 7


def test_a_fetch_gets_json_and_a_form_post_gets_a_page(rf: RequestFactory):
    fetch = rf.post("/x", HTTP_ACCEPT="application/json")
    form = rf.post("/x")
    assert refusal_response(fetch, PermissionDenied("no"), back="/").status_code == 403
    assert refusal_response(fetch, PermissionDenied("no"), back="/")["Content-Type"] == (
        "application/json"
    )
    page = refusal_response(form, ValidationError("bad"), back="/")
    assert page.status_code == 400 and b"bad" in page.content
