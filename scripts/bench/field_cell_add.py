"""What a reviewer's "add a missed cell" click costs in the web request (issue 14): the service
`fields.services.field_cell_add` timed with `time.perf_counter` on generated 2,592x1,944 JPEG
fields, one click inside every white cell, with the bare decode of the same field beside it.

    .venv/bin/python scripts/bench/field_cell_add.py --data ../shared/data/cnmc --fields 3

Each field is uploaded through `case_upload` and marked segmented with no cells found, so every
click adds its cell (cut, stored with thumbnail and model input, audited, its classification
enqueued) as a missed one would be. The process is pinned to one core, as a web worker's request
runs on one. The database is `allreview_bench_cell_add` on the local PostgreSQL, made afresh and
dropped at the end; the first click of the process (imports of the image stack) is shown apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one core: no hidden BLAS threads
REPO = Path(__file__).resolve().parents[2]
sys.path[0] = str(REPO)  # not scripts/bench: its platform.py would hide the standard library's
DB_NAME = "allreview_bench_cell_add"
ADMIN_DSN = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"


def database(action: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        if action == "create":
            conn.execute(f"CREATE DATABASE {DB_NAME}")


def setup_django() -> None:
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ["DATABASE_URL"] = f"postgres://postgres:postgres@127.0.0.1:5432/{DB_NAME}"
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="allreview-bench-media-"))
    os.environ.setdefault("ALLREVIEW_VAR_DIR", tempfile.mkdtemp(prefix="allreview-bench-var-"))
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["DJANGO_SETTINGS_MODULE"] = "allreview.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def field_uploaded(project: object, user: object, jpeg: bytes, code: str) -> object:
    """A case holding the field, the field marked segmented with nothing found."""
    from django.conf import settings

    from allreview.cases.ingest import IncomingFile
    from allreview.cases.models import Case, CaseStatus
    from allreview.cases.services import case_upload
    from allreview.fields.models import Field, FieldStatus

    case = case_upload(
        project=project, user=user, patient_code=code, files=[IncomingFile("f.jpg", jpeg)]
    )
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.READY)
    field = Field.objects.select_related("case").get(case=case)
    field.status, field.cell_diameter = FieldStatus.DONE, settings.FIELD_CELL_DIAMETER
    field.save(update_fields=["status", "cell_diameter"])
    return field


def clicks(cells: list) -> list[tuple[int, int]]:
    """A point inside each whole cell: its mask pixel nearest to the mask's centre."""
    import numpy as np

    points = []
    for cell in cells:
        if cell.edge:
            continue
        ys, xs = np.nonzero(cell.mask)
        nearest = int(np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2))
        points.append((cell.box.x0 + int(xs[nearest]), cell.box.y0 + int(ys[nearest])))
    return points


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "cnmc")
    parser.add_argument("--fields", type=int, default=3)
    parser.add_argument("--seed", type=int, default=500)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(f"load average at start: {os.getloadavg()}")
    database("create")
    try:
        setup_django()
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        database("drop")


def run(args: argparse.Namespace) -> int:
    from django.core.exceptions import ValidationError

    from allreview.fields import services as field_services
    from allreview.fields.crops import field_pixels
    from smear.generate import FieldConfig, field_generate, sources_from_cnmc
    from smear.io import jpeg_bytes
    from smear.segment import SegmentConfig, segment_at
    from tests.factories import MembershipFactory, ProjectFactory, UserFactory

    user = UserFactory(username="bench")
    project = ProjectFactory(name="Bench lab")
    MembershipFactory(project=project, user=user, role="admin")
    sources = sources_from_cnmc(args.data)
    adds: list[float] = []
    decodes: list[float] = []
    segments: list[float] = []
    first = None
    refused = 0
    for number in range(args.fields):
        generated = field_generate(sources, FieldConfig(), seed=args.seed + number)
        field = field_uploaded(project, user, jpeg_bytes(generated.image), f"B-{number}")
        config = SegmentConfig(cell_diameter=field.cell_diameter)
        for x, y in clicks(generated.cells):
            add = partial(field_services.field_cell_add, field=field, user=user, x=x, y=y)
            try:
                took = timed(add)
            except ValidationError as exc:  # e.g. a cell the lenient pass merged with a neighbour
                refused += 1
                print(f"  click ({x}, {y}) refused: {' '.join(exc.messages)}")
                continue
            if first is None:
                first = took
                continue
            adds.append(took)
            rgb = field_pixels(field)
            decodes.append(timed(partial(field_pixels, field)))
            segments.append(timed(partial(segment_at, rgb, x, y, config)))
    report(first, adds, decodes, segments, refused)
    print(f"load average at end: {os.getloadavg()}")
    return 0


def report(
    first: float | None,
    adds: list[float],
    decodes: list[float],
    segments: list[float],
    refused: int,
) -> None:
    def ms(values: list[float]) -> str:
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        return f"median {1000 * statistics.median(ordered):.0f} ms, p95 {1000 * p95:.0f} ms"

    print(f"first click of the process (imports): {1000 * (first or 0):.0f} ms")
    print(f"field_cell_add, {len(adds)} clicks: {ms(adds)}  ({refused} refused)")
    print(f"  of which the field's decode (field_pixels): {ms(decodes)}")
    print(f"  of which segment_at around the click: {ms(segments)}")
    rest = [a - d - s for a, d, s in zip(adds, decodes, segments, strict=True)]
    print(f"  the rest (crop, PNG, checks, storage, database): {ms(rest)}")


if __name__ == "__main__":
    sys.exit(main())
