"""Locust users for `scripts/bench/load_review.py`: reviewers who log in, open their cases, page
the gallery (a filter or order switch, the next screen of thumbnails, the focused cell's panel)
and relabel, the way `allreview/review/static/review/case.js` does it: a case's thumbnails come
in its one thumbnail pack, fetched when the case is first opened and then held by the browser
(immutable); a case without a pack has its thumbnails fetched one by one at their addresses.

Run by load_review.py, never by hand: it reads the fixture (accounts, cases, cells) from
LOADTEST_FIXTURE and writes what every user sent and got back to LOADTEST_LEDGER when locust
quits, so the database can be counted against it afterwards. Imports locust and the standard
library only (no Django): it runs in locust's process.

Each reviewer has cases of their own (taken, single-read): there a relabel must answer 201, and a
409 is an error. All reviewers also share one free case, where two of them may relabel the same
cell at once: there the server must refuse the later call on a stale view with 409 and write
nothing, and the user takes the fresh state from the answer as the page does.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

FIXTURE: dict[str, Any] = json.loads(Path(os.environ["LOADTEST_FIXTURE"]).read_text())
LEDGER_PATH = os.environ["LOADTEST_LEDGER"]
SEED = int(os.environ.get("LOADTEST_SEED", "12"))
THINK_MIN = float(os.environ.get("LOADTEST_THINK_MIN", "0.5"))
THINK_MAX = float(os.environ.get("LOADTEST_THINK_MAX", "2.0"))
SCREEN_TILES = 24  # thumbnails that one scroll of the gallery brings into view
SHARED_SHARE = 0.15  # relabels on the shared case
RETRY_SHARE = 0.05  # relabels sent a second time with the same request id (a dropped answer)
RANGE_SHARE = 0.2  # relabels of a selected range instead of the focused cell
VALUES = ("all", "hem", "unsure", "artifact", "model")
ROWS = re.compile(r'<script id="cell-rows" type="application/json">(.*?)</script>', re.S)
MODEL_VERSION = re.compile(r'data-model-version="(\d+)"')
THUMBNAIL_PACK = re.compile(r'data-thumbnail-pack="([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

_lock = threading.Lock()
_accounts = iter(FIXTURE["reviewers"])
# Every response (name, start time, milliseconds, whether it was what the flow expects) and every
# label write (what was sent, what came back), for load_review.py's figures and database checks.
SAMPLES: list[tuple[str, float, float, bool]] = []
WRITES: list[dict[str, Any]] = []
UNEXPECTED: list[str] = []


@dataclass
class CaseView:
    """One case page as this user last loaded it: each cell's label and model call."""

    case_id: int
    shared: bool
    labels: dict[int, str | None] = field(default_factory=dict)
    calls: dict[int, str | None] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    model_version: int | None = None
    next_tile: int = 0
    pack: str = ""  # the case's thumbnail pack ('' for a case without one)
    addresses: dict[int, str] = field(default_factory=dict)  # cell -> its thumbnail's address


class Reviewer(FastHttpUser):
    wait_time = between(THINK_MIN, THINK_MAX)

    def on_start(self) -> None:
        with _lock:
            self.account = next(_accounts)
        self.rng = random.Random(f"{SEED}-{self.account['username']}")
        self.views: dict[int, CaseView] = {}
        self.cached: set[int] = set()  # thumbnails the browser holds (immutable, max-age)
        self.cached_packs: set[str] = set()  # thumbnail packs it holds (immutable too)
        self.focus: CaseView | None = None
        self.csrf = ""
        self._login()
        self._get("/", "worklist")
        self._open(self.account["cases"][0], shared=False)
        self._open(FIXTURE["shared_case"], shared=True)
        self.focus = self.views[self.account["cases"][0]]

    # ---- the flow --------------------------------------------------------------------------

    @task(1)
    def open_case(self) -> None:
        if self.rng.random() < 0.2:  # a look at the shared case: its labels as they are now
            self._open(FIXTURE["shared_case"], shared=True)
            return
        self.focus = self._open(self.rng.choice(self.account["cases"]), shared=False)

    @task(2)
    def page_gallery(self) -> None:
        view = self.focus or self.views[self.account["cases"][0]]
        show = self.rng.choice(("all", "unreviewed", "disagree"))
        order = self.rng.choice(("uncertainty", "probability"))
        self._get(f"/cases/{view.case_id}/?show={show}&order={order}", "case page (filtered)")
        if not view.pack:  # else every thumbnail came in the pack, held since the case opened
            for cell in self._next_screen(view):
                self._thumbnail(cell, view.addresses.get(cell, ""))
        self._get(f"/cells/{self.rng.choice(view.order)}/panel/", "cell panel")

    @task(10)
    def relabel(self) -> None:
        shared = self.rng.random() < SHARED_SHARE
        view = self.views[FIXTURE["shared_case"]] if shared else self.focus
        assert view is not None
        cells = self._selection(view)
        value = self.rng.choice(VALUES)
        if value == "model" and any(view.calls.get(c) is None for c in cells):
            value = "unsure"  # no call to accept (the page refuses Enter here too)
        body: dict[str, Any] = {
            "cells": cells,
            "value": value,
            "seen": {str(c): view.labels.get(c) for c in cells},
            "request_id": uuid.uuid4().hex,
        }
        if value == "model":
            body["model_version"] = view.model_version
        answer = self._write(view, body, retry=False)
        if answer is not None and self.rng.random() < RETRY_SHARE:
            self._write(view, body, retry=True, first=answer)
        if not shared:
            self._get(f"/cells/{cells[-1]}/panel/", "cell panel")

    # ---- requests --------------------------------------------------------------------------

    def _login(self) -> None:
        page = self._get("/login/", "login page")
        match = CSRF_FIELD.search(page)
        if match is None:
            raise RuntimeError("the login page has no CSRF field")
        form = {
            "csrfmiddlewaretoken": match.group(1),
            "username": self.account["username"],
            "password": self.account["password"],
            "next": "/",
        }
        with self.client.post(
            "/login/", data=form, name="login", catch_response=True, allow_redirects=False
        ) as response:
            self._record("login", response, response.status_code == 302)
        self.csrf = self._cookie("csrftoken")

    def _open(self, case_id: int, *, shared: bool) -> CaseView:
        page = self._get(f"/cases/{case_id}/", "case page")
        rows = ROWS.search(page)
        version = MODEL_VERSION.search(page)
        view = self.views.get(case_id) or CaseView(case_id, shared)
        if rows is not None:
            decoded = json.loads(rows.group(1))
            view.labels = {r[0]: r[4] for r in decoded}
            view.calls = {r[0]: r[3] for r in decoded}
            view.order = [r[0] for r in decoded]
            view.addresses = {r[0]: r[5] for r in decoded}
        view.model_version = int(version.group(1)) if version else None
        pack = THUMBNAIL_PACK.search(page)
        view.pack = pack.group(1) if pack else ""
        if view.pack and view.pack not in self.cached_packs:
            self._get_bytes(view.pack, "thumbnail pack")
            self.cached_packs.add(view.pack)
        self.views[case_id] = view
        return view

    def _get_bytes(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as response:
            ok = response.status_code == 200 and len(response.content or b"") > 0
            self._record(name, response, ok)

    def _get(self, path: str, name: str) -> str:
        with self.client.get(path, name=name, catch_response=True) as response:
            self._record(name, response, response.status_code == 200)
            return response.text or ""

    def _thumbnail(self, cell: int, address: str) -> None:
        if cell in self.cached:
            return
        path = f"/cells/{cell}/thumbnail/{address}.jpg" if address else f"/cells/{cell}/thumbnail/"
        self._get_bytes(path, "thumbnail")
        self.cached.add(cell)

    def _write(
        self, view: CaseView, body: dict[str, Any], *, retry: bool, first: Any = None
    ) -> dict[str, Any] | None:
        name = "relabel (retry)" if retry else "relabel (shared case)" if view.shared else "relabel"
        headers = {"X-CSRFToken": self.csrf, "Accept": "application/json"}
        with self.client.post(
            f"/cases/{view.case_id}/labels/",
            json=body,
            headers=headers,
            name=name,
            catch_response=True,
        ) as response:
            status = response.status_code
            data = _json(response.text)
            ok = self._expected(view, status, data, retry=retry, first=first)
            self._record(name, response, ok)
        WRITES.append(
            {
                "user": self.account["username"],
                "case": view.case_id,
                "shared": view.shared,
                "retry": retry,
                "request_id": body["request_id"],
                "cells": body["cells"],
                "value": body["value"],
                "status": status,
                "batch": data.get("batch"),
                "replayed": data.get("replayed"),
                "changes": data.get("changes"),
            }
        )
        if status == 201:
            for change in data.get("changes", []):
                view.labels[change["cell"]] = change["after"]
            return data
        if status == 409 and "fresh" in data:  # what the page does: show what is there now
            for cell in data["fresh"].get("cells", []):
                view.labels[cell["cell"]] = cell["label"]
        return None

    def _expected(
        self, view: CaseView, status: int, data: dict[str, Any], *, retry: bool, first: Any
    ) -> bool:
        if retry:
            return (
                status == 200 and data.get("replayed") is True and data["batch"] == first["batch"]
            )
        if status == 201:
            return bool(data.get("batch")) and data.get("replayed") is False
        return view.shared and status == 409 and "fresh" in data

    def _record(self, name: str, response: Any, ok: bool) -> None:
        meta = response.request_meta
        SAMPLES.append((name, float(meta["start_time"]), float(meta["response_time"]), ok))
        if ok:
            response.success()
        else:
            detail = f"{name}: HTTP {response.status_code} {(response.text or '')[:200]!r}"
            UNEXPECTED.append(detail)
            response.failure(detail)

    # ---- helpers ---------------------------------------------------------------------------

    def _cookie(self, name: str) -> str:
        for cookie in self.client.cookiejar:
            if cookie.name == name:
                return cookie.value or ""
        raise RuntimeError(f"no {name} cookie after login")

    def _next_screen(self, view: CaseView) -> list[int]:
        start = view.next_tile % max(1, len(view.order))
        view.next_tile = start + SCREEN_TILES
        return view.order[start : start + SCREEN_TILES]

    def _selection(self, view: CaseView) -> list[int]:
        """The focused cell, or now and then a range of up to 10 (Shift+move)."""
        start = self.rng.randrange(len(view.order))
        size = self.rng.randint(2, 10) if self.rng.random() < RANGE_SHARE else 1
        return view.order[start : start + size]


def _json(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text or "")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@events.quitting.add_listener
def _write_ledger(environment: Any, **_: Any) -> None:
    ledger = {
        "finished_at": time.time(),
        "samples": SAMPLES,
        "writes": WRITES,
        "unexpected": UNEXPECTED[:50],
    }
    Path(LEDGER_PATH).write_text(json.dumps(ledger))
