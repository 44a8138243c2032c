"""Platform benchmarks on PostgreSQL: ingest rate of a 500-cell zip and case-page server time.

    .venv/bin/python scripts/bench/platform_figures.py ingest [--cells 500]
    .venv/bin/python scripts/bench/platform_figures.py casepage [--cells 500 --repeat 30]

Uses the database `allreview_bench` on the local PostgreSQL (created and migrated if missing)
and a temporary media folder; prints figures, changes nothing else.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
CNMC_DIR = Path(os.environ.get("CNMC_DIR", REPO.parent / "shared" / "data" / "cnmc"))


def setup_django() -> None:
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ.setdefault(
        "DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/allreview_bench"
    )
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="allreview-bench-media-"))
    os.environ.setdefault("ALLREVIEW_VAR_DIR", tempfile.mkdtemp(prefix="allreview-bench-var-"))
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ["DJANGO_SETTINGS_MODULE"] = "allreview.settings"
    import psycopg

    with psycopg.connect(
        "postgresql://postgres:postgres@127.0.0.1:5432/postgres", autocommit=True
    ) as c:
        if not c.execute("select 1 from pg_database where datname='allreview_bench'").fetchone():
            c.execute("create database allreview_bench")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def bmp_cells(n: int) -> list[tuple[str, bytes]]:
    """C-NMC-size BMPs (450x450, 24-bit, ~600 KB): real cells when present, synthetic otherwise."""
    from PIL import Image

    from classifier.synthetic import make_cell

    sources = sorted(CNMC_DIR.glob("images/*/*.png")) if CNMC_DIR.is_dir() else []
    files = []
    for i in range(n):
        image = Image.open(sources[i % len(sources)]) if sources else make_cell("all", i)
        image = image.convert("RGB")
        if sources and i >= len(sources):  # distinct content when the real set runs out
            image = image.rotate(90 * (i // len(sources)))
        buffer = io.BytesIO()
        image.save(buffer, format="BMP")
        files.append((f"cell_{i:04d}.bmp", buffer.getvalue()))
    return files


def bare_rate(files: list[tuple[str, bytes]], thumb: int) -> float:
    from PIL import Image

    start = time.perf_counter()
    for _, data in files:
        image = Image.open(io.BytesIO(data))
        image.load()
        image.thumbnail((thumb, thumb))
        image.save(io.BytesIO(), format="JPEG")
    return len(files) / (time.perf_counter() - start)


def bench_ingest(n: int) -> None:
    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from allreview.cases.ingest import IncomingFile
    from allreview.cases.services import case_upload
    from allreview.projects.models import Membership, Project

    files = bmp_cells(n)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in files:
            archive.writestr(name, data)
    archive_bytes = buffer.getvalue()
    user, _ = get_user_model().objects.get_or_create(username="bench")
    project, _ = Project.objects.get_or_create(name="Bench")
    Membership.objects.get_or_create(project=project, user=user, defaults={"role": "admin"})
    bare = statistics.median(bare_rate(files, settings.THUMBNAIL_SIZE) for _ in range(3))
    rates = []
    for round_ in range(3):
        start = time.perf_counter()
        case_upload(
            project=project,
            user=user,
            patient_code=f"BENCH-{time.time_ns()}",
            files=[IncomingFile("cells.zip", archive_bytes)],
        )
        rates.append(n / (time.perf_counter() - start))
        print(f"  round {round_ + 1}: {rates[-1]:.0f} cells/s")
    service = statistics.median(rates)
    mean_kb = sum(len(d) for _, d in files) / n / 1024
    print(
        f"ingest: {n} BMP cells ({mean_kb:.0f} KB each) in a {len(archive_bytes) / 2**20:.0f} MiB zip"
    )
    print(f"  bare Pillow decode+thumbnail: {bare:.0f} cells/s")
    print(
        f"  upload service (unzip, decode, validate, thumbnail, store, insert): {service:.0f} cells/s"
    )
    print(f"  ratio service/bare: {service / bare:.2f}")


def bench_casepage(n: int, repeat: int) -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from allreview.cases.models import Case
    from allreview.projects.models import Membership, Project
    from tests.factories import CellFactory, ModelVersionFactory

    user, _ = get_user_model().objects.get_or_create(username="bench")
    project, _ = Project.objects.get_or_create(name="Bench")
    Membership.objects.get_or_create(project=project, user=user, defaults={"role": "admin"})
    case = Case.objects.create(project=project, patient_code=f"PAGE-{time.time_ns()}")
    CellFactory.create_for_case(
        case, n, model_version=ModelVersionFactory(name=f"bench-{time.time_ns()}")
    )
    client = Client()
    client.force_login(user)
    url = f"/cases/{case.pk}/"
    client.get(url)  # warm caches and templates
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    print(
        f"case page, {n} cells: median {statistics.median(times):.1f} ms, "
        f"p95 {sorted(times)[int(0.95 * (len(times) - 1))]:.1f} ms over {repeat} requests, "
        f"{len(captured)} queries"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    ingest = sub.add_parser("ingest")
    ingest.add_argument("--cells", type=int, default=500)
    page = sub.add_parser("casepage")
    page.add_argument("--cells", type=int, default=500)
    page.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    if args.what == "ingest":
        bench_ingest(args.cells)
    else:
        bench_casepage(args.cells, args.repeat)


if __name__ == "__main__":
    main()
