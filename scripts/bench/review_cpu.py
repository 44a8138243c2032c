"""CPU a review request costs the web process, endpoint by endpoint (issue 12, must-have 6).

    .venv/bin/python scripts/bench/review_cpu.py [--repeat 200] [--profile relabel]

The requests of the load test (`load_review_locustfile.py`: worklist, case page, a filtered
case page, cell panel, thumbnail, relabel of one cell or a range, a retried relabel) sent through
Django's test client to the production settings (`allreview.settings`, DEBUG off, PostgreSQL,
CSRF enforced, a session from a real login) in one thread. For each: the median CPU time of the
thread that served it (the web process's share; PostgreSQL's own CPU is not in it), the median
wall time, and the queries it ran. `--profile NAME` prints cProfile's top functions for that
request. The fixture is the load test's, smaller (real C-NMC cells uploaded through the ingest
service, calls drawn at random); its database is made afresh and dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import load_review  # noqa: E402  (scripts/bench, beside this file)

VALUES = ("all", "hem", "unsure", "artifact")
ROWS = re.compile(r'<script id="cell-rows" type="application/json">(.*?)</script>', re.S)
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class Figure:
    name: str
    n: int
    cpu_ms: float  # median thread CPU of one request
    wall_ms: float  # median wall time of one request
    queries: int

    def line(self) -> str:
        return (
            f"{self.name:<22}{self.n:>6}{self.cpu_ms:>10.2f}{self.wall_ms:>10.2f}{self.queries:>9}"
        )


class Session:
    """One signed-in reviewer and what their page shows (labels of their own case)."""

    def __init__(self, account: dict[str, Any], shared_case: int) -> None:
        from django.test import Client

        self.client = Client(enforce_csrf_checks=True)
        self.case = account["cases"][0]
        self.shared_case = shared_case
        page = self.client.get("/login/").content.decode()
        token = _found(CSRF_FIELD, page, "CSRF field")
        response = self.client.post(
            "/login/",
            {"csrfmiddlewaretoken": token, "username": account["username"],
             "password": account["password"], "next": "/"},
        )  # fmt: skip
        if response.status_code != 302:
            raise RuntimeError(f"login failed: HTTP {response.status_code}")
        self.csrf = self.client.cookies["csrftoken"].value
        self.labels: dict[int, str | None] = {}
        self.order: list[int] = []
        self.turn = 0
        self.open_case()

    def open_case(self) -> None:
        page = self.get(f"/cases/{self.case}/")
        rows = json.loads(_found(ROWS, page, "cell rows"))
        self.labels = {r[0]: r[4] for r in rows}
        self.order = [r[0] for r in rows]

    def get(self, path: str) -> str:
        response = self.client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status_code}")
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return content.decode(errors="replace")

    def relabel(self, size: int, request_id: str = "") -> dict[str, Any]:
        self.turn += 1
        start = (self.turn * 7) % (len(self.order) - size)
        cells = self.order[start : start + size]
        body = {
            "cells": cells,
            "value": VALUES[self.turn % len(VALUES)],
            "seen": {str(c): self.labels.get(c) for c in cells},
            "request_id": request_id or uuid.uuid4().hex,
        }
        response = self.client.post(
            f"/cases/{self.case}/labels/",
            json.dumps(body),
            content_type="application/json",
            headers={"X-CSRFToken": self.csrf, "Accept": "application/json"},
        )
        data = response.json()
        if response.status_code not in (200, 201):
            raise RuntimeError(f"relabel: HTTP {response.status_code} {data}")
        for change in data["changes"]:
            self.labels[change["cell"]] = change["after"]
        return body


def _found(pattern: re.Pattern[str], page: str, what: str) -> str:
    match = pattern.search(page)
    if match is None:
        raise RuntimeError(f"the page has no {what}")
    return match.group(1)


def requests_of(session: Session) -> dict[str, Callable[[int], object]]:
    """Each request of the load test, as a function of its turn."""
    case = session.case

    return {
        "worklist": lambda i: session.get("/"),
        "case page": lambda i: session.get(f"/cases/{case}/"),
        "case page (filtered)": lambda i: session.get(
            f"/cases/{case}/?show={('unreviewed', 'disagree', 'all')[i % 3]}&order=probability"
        ),
        "cell panel": lambda i: session.get(
            f"/cells/{session.order[i % len(session.order)]}/panel/"
        ),
        "thumbnail": lambda i: session.get(
            f"/cells/{session.order[i % len(session.order)]}/thumbnail/"
        ),
        "relabel": lambda i: session.relabel(1),
        "relabel (range of 5)": lambda i: session.relabel(5),
    }


def count_queries(send: Callable[[], object]) -> int:
    """Statements sent to PostgreSQL by one request (BEGIN and COMMIT are not statements here)."""
    from django.db import connection

    sent: list[str] = []

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        send()
    return len(sent)


def measure(name: str, send: Callable[[int], object], repeat: int) -> Figure:
    for i in range(5):  # warm: templates, the connection, caches
        send(i)
    queries = count_queries(lambda: send(5))
    cpu, wall = [], []
    for i in range(repeat):
        c0, w0 = time.thread_time(), time.perf_counter()
        send(i)
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return Figure(name, repeat, statistics.median(cpu), statistics.median(wall), queries)


def measure_retry(session: Session, repeat: int) -> Figure:
    """A relabel sent again with the same request id (answered from its record)."""
    bodies = [session.relabel(1) for _ in range(repeat + 1)]

    def again(body: dict[str, Any]) -> None:
        response = session.client.post(
            f"/cases/{session.case}/labels/",
            json.dumps(body),
            content_type="application/json",
            headers={"X-CSRFToken": session.csrf, "Accept": "application/json"},
        )
        if response.status_code != 200:
            raise RuntimeError(f"retry: HTTP {response.status_code}")

    queries = count_queries(lambda: again(bodies[-1]))
    cpu, wall = [], []
    for body in bodies[:repeat]:
        c0, w0 = time.thread_time(), time.perf_counter()
        again(body)
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return Figure(
        "relabel (retry)",
        repeat,
        statistics.median(cpu),
        statistics.median(wall),
        queries,
    )


def queries_of(send: Callable[[int], object]) -> str:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    send(0)
    with CaptureQueriesContext(connection) as captured:
        send(1)
    return "\n\n".join(f"[{q['time']}] {q['sql']}" for q in captured.captured_queries)


def profile(send: Callable[[int], object], repeat: int, top: int, only: str = "") -> str:
    profiler = cProfile.Profile(time.thread_time)  # CPU, not waits for PostgreSQL
    profiler.enable()
    for i in range(repeat):
        send(i)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(*([only] if only else []), top)
    if not only:
        stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def setup(db_name: str, work: Path, *, fresh: bool) -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": "allreview.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "testserver,127.0.0.1",
        "DATABASE_URL": f"postgres://postgres:postgres@127.0.0.1:5432/{db_name}",
        "CELERY_BROKER_URL": "memory://",
        "ALLREVIEW_VAR_DIR": str(work / "var"),
        "MEDIA_ROOT": str(work / "media"),
        "STATIC_ROOT": str(work / "static"),
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "LOG_LEVEL": "WARNING",
    }
    if fresh:
        load_review._database(db_name)
    load_review._setup_django(env)
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)  # the manifest DEBUG off reads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--only", nargs="*", help="measure only these requests")
    parser.add_argument("--profile", help="print cProfile's top functions for this request")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--profile-filter", default="", help="a regular expression on paths")
    parser.add_argument("--queries", help="print the SQL of one such request")
    parser.add_argument("--db-name", default="allreview_cpu")
    parser.add_argument("--cnmc", type=Path, default=load_review.CNMC_DIR)
    parser.add_argument("--work", type=Path,
                        help="keep the database and fixture here; reuse them when there")  # fmt: skip
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="allreview-cpu-"))
    saved = work / "fixture.json"
    setup(args.db_name, work, fresh=not saved.exists())
    try:
        if saved.exists():
            fixture = load_review.Fixture(**json.loads(saved.read_text()))
        else:
            fixture = load_review.fixture_create(
                reviewers=2, cases_per_reviewer=1, cells_per_case=120, shared_cells=100,
                cnmc_dir=args.cnmc,
            )  # fmt: skip
            if args.work:
                fixture.write(saved)
        session = Session(fixture.reviewers[0], fixture.shared_case)
        chosen = requests_of(session)
        if args.queries:
            print(queries_of(chosen[args.queries]))
            return 0
        if args.profile:
            print(profile(chosen[args.profile], args.repeat, args.top, args.profile_filter))
            return 0
        print(f"load average {load_review._load_average()}; {args.repeat} requests each")
        print(f"{'request':<22}{'n':>6}{'CPU ms':>10}{'wall ms':>10}{'queries':>9}")
        for name, send in chosen.items():
            if not args.only or name in args.only:
                print(measure(name, send, args.repeat).line())
        if not args.only or "relabel (retry)" in args.only:
            print(measure_retry(session, args.repeat).line())
        print(f"load average {load_review._load_average()}")
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        if not args.work:
            load_review._database(args.db_name, drop_only=True)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
