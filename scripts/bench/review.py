"""Review workspace benchmarks on PostgreSQL: case page, relabel, and both at a million cells.

    .venv/bin/python scripts/bench/review.py [--repeat 30] [--relabels 200] [--million 1000000]

Server time is measured in-process through Django's test client (request in, response out: URL
routing, middleware, session, queries, rendering; no network, no browser). The database is
`allreview_bench_review` on the local PostgreSQL, dropped and made afresh each run (so the
platform benchmark's `allreview_bench` keeps its own figures) and dropped at the end unless
--keep. Rows are bulk-created with generate_series: the benchmark measures reads, not ingest.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
DB_NAME = "allreview_bench_review"
ADMIN_DSN = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
CASE_CELLS = 500
SMALL_CASES = 49  # plus the 500-cell case: one worklist page of 50 rows, ~1,000 cells in all
SMALL_CASE_CELLS = 10


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p95_ms: float
    n: int

    def __str__(self) -> str:
        return f"median {self.median_ms:.1f} ms, p95 {self.p95_ms:.1f} ms over {self.n}"


def timing(samples: list[float]) -> Timing:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return Timing(statistics.median(ordered), p95, len(ordered))


def fresh_database() -> None:
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def setup_django() -> None:
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ["DATABASE_URL"] = f"postgres://postgres:postgres@127.0.0.1:5432/{DB_NAME}"
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="allreview-bench-media-"))
    os.environ.setdefault("ALLREVIEW_VAR_DIR", tempfile.mkdtemp(prefix="allreview-bench-var-"))
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ["DJANGO_SETTINGS_MODULE"] = "allreview.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def sql(statement: str, params: list[object] | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def insert_cases(project_id: int, model_id: int, n: int, cells: int, age_s: int) -> None:
    """n classified cases of `cells` cells each, created `age_s` seconds ago and earlier; a third
    of the cells labelled. All with generate_series: a million rows take seconds, not hours."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM cases_case")
        first = cursor.fetchone()[0] + 1
    sql(
        """INSERT INTO cases_case (project_id, patient_code, specimen_id, status, status_detail,
             model_version_id, progress_done, progress_total, created_at, updated_at)
           SELECT %s, 'B-' || g, '', 'in_review', '', %s, %s, %s,
             now() - make_interval(secs => %s + g), now()
           FROM generate_series(1, %s) g""",
        [project_id, model_id, cells, cells, age_s, n],
    )
    last = first + n - 1
    sql(
        """INSERT INTO cases_cell (case_id, image, thumbnail, sha256, size_bytes, width, height,
             image_format, original_name, truth, created_at)
           SELECT c.id, 'cells/b/' || c.id || '/' || g || '.png', 'cells/b/' || c.id || '/' || g
             || '.thumb.jpg', md5(c.id || '-' || g) || md5(g || '-' || c.id), 1000, 450, 450,
             'PNG', 'cell_' || g || '.png', '', now()
           FROM cases_case c CROSS JOIN generate_series(1, %s) g
           WHERE c.id BETWEEN %s AND %s""",
        [cells, first, last],
    )
    sql(
        """INSERT INTO cases_prediction (cell_id, model_version_id, probability, label,
             uncertainty, saliency, created_at)
           SELECT id, %s, (id %% 100) / 100.0, CASE WHEN id %% 100 >= 50 THEN 'all' ELSE 'hem' END,
             (id %% 7) / 70.0, '', now()
           FROM cases_cell WHERE case_id BETWEEN %s AND %s""",
        [model_id, first, last],
    )
    sql(
        """INSERT INTO cases_label (cell_id, value, user_id, created_at)
           SELECT id, CASE WHEN id %% 100 >= 50 THEN 'all' ELSE 'hem' END,
             (SELECT min(id) FROM auth_user), now()
           FROM cases_cell WHERE case_id BETWEEN %s AND %s AND id %% 3 = 0""",
        [first, last],
    )


def measure(fetch: Callable[[], object], repeat: int) -> Timing:
    fetch()  # warm caches, templates and the connection
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fetch()
        samples.append((time.perf_counter() - start) * 1000)
    return timing(samples)


def get_ok(client: object, url: str) -> Callable[[], object]:
    def fetch() -> object:
        response = client.get(url)  # type: ignore[attr-defined]
        assert response.status_code == 200, (url, response.status_code)
        return response

    return fetch


def bench_relabels(client: object, case_id: int, cell_ids: list[int], n: int) -> Timing:
    import json

    values = ("all", "hem", "unsure", "artifact")
    samples = []
    for i in range(n):
        body = json.dumps({"cells": [cell_ids[i % len(cell_ids)]], "value": values[i % 4]})
        start = time.perf_counter()
        response = client.post(  # type: ignore[attr-defined]
            f"/cases/{case_id}/labels/", body, content_type="application/json"
        )
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 201, response.content
    return timing(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--relabels", type=int, default=200)
    parser.add_argument("--million", type=int, default=1_000_000, help="cells in the big database")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    fresh_database()
    setup_django()
    try:
        run(args)
    finally:
        if not args.keep:
            drop_database()


def run(args: argparse.Namespace) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from allreview.cases.models import Case, Cell
    from allreview.mlmodels.models import ModelVersion
    from allreview.projects.models import Membership, Project

    user = get_user_model().objects.create(username="bench")
    project = Project.objects.create(name="Bench")
    other = Project.objects.create(name="Other lab")
    Membership.objects.create(project=project, user=user, role="admin")
    model = ModelVersion.objects.create(
        name="bench", profile="tiny", architecture="tiny", checkpoint="m.pt", sha256="0" * 64
    )
    insert_cases(project.pk, model.pk, SMALL_CASES, SMALL_CASE_CELLS, age_s=60)
    insert_cases(project.pk, model.pk, 1, CASE_CELLS, age_s=0)  # newest: first on the worklist
    sql("ANALYZE")
    case = Case.objects.filter(project=project).order_by("-created_at").first()
    client = Client()
    client.force_login(user)
    page_url, list_url = f"/cases/{case.pk}/", "/"
    reset_queries()  # a request start resets the log, which would cut the capture short
    with CaptureQueriesContext(connection) as captured:
        get_ok(client, page_url)()
    small_cells = Cell.objects.count()
    print(f"database: {small_cells:,} cells in {Case.objects.count()} cases")
    page_small = measure(get_ok(client, page_url), args.repeat)
    list_small = measure(get_ok(client, list_url), args.repeat)
    print(f"  case page, {CASE_CELLS} cells: {page_small}, {len(captured)} queries")
    print(f"  worklist, 50 rows: {list_small}")
    cell_ids = list(Cell.objects.filter(case=case).values_list("id", flat=True))
    relabel = bench_relabels(client, case.pk, cell_ids, args.relabels)
    print(f"  relabel request (one cell, JSON, with the summary): {relabel}")

    if args.million <= small_cells:
        return
    started = time.perf_counter()
    big_cases = max(1, (args.million - small_cells) // CASE_CELLS)
    insert_cases(project.pk, model.pk, big_cases // 2, CASE_CELLS, age_s=3600)
    insert_cases(other.pk, model.pk, big_cases - big_cases // 2, CASE_CELLS, age_s=3600)
    sql("ANALYZE")
    print(
        f"database: {Cell.objects.count():,} cells in {Case.objects.count():,} cases "
        f"(bulk-created in {time.perf_counter() - started:.0f} s; half in the user's project)"
    )
    page_big = measure(get_ok(client, page_url), args.repeat)
    list_big = measure(get_ok(client, list_url), args.repeat)
    print(f"  case page, {CASE_CELLS} cells: {page_big}")
    print(f"  worklist, 50 rows: {list_big}")
    print(
        f"ratio million/thousand (medians): case page {page_big.median_ms / page_small.median_ms:.2f}x, "
        f"worklist {list_big.median_ms / list_small.median_ms:.2f}x"
    )


if __name__ == "__main__":
    main()
