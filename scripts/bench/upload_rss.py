"""Peak memory (RSS) of the web process while it handles a 1 GiB upload.

    .venv/bin/python scripts/bench/upload_rss.py [--mib 1024] [--repo PATH] [--multipart]

Writes ~1 GiB of distinct 450x450 24-bit BMP cells (as C-NMC ships them) into one stored zip (or,
with --multipart, sends them as separate files), starts `manage.py runserver --noreload` (one
process) of the checkout at --repo (default: this one) on the database `allreview_bench_rss`
(created and migrated fresh), posts the upload through the REST API with curl, and prints the
server's resident memory: idle, and its peak sampled during the request. The broker is a closed port, so the
upload also walks the broker-outage path; nothing outside temporary folders is changed.
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SIDE = 450
DB = "allreview_bench_rss"


def bmp_cell(seed: int) -> bytes:
    """A distinct 24-bit BMP: random pixels (so no two share a sha256), 608,454 bytes."""
    row = (SIDE * 3 + 3) & ~3  # rows are padded to 4 bytes
    pixels = os.urandom(row * SIDE)
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, SIDE, SIDE, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + pixels


def write_cells(folder: Path, total_bytes: int) -> list[Path]:
    paths: list[Path] = []
    size = 0
    while size < total_bytes:
        path = folder / f"cell_{len(paths):05d}.bmp"
        path.write_bytes(bmp_cell(len(paths)))
        size += path.stat().st_size
        paths.append(path)
    return paths


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def env_for(repo: Path, var: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": "benchmark-only",
        "DATABASE_URL": f"postgres://postgres:postgres@127.0.0.1:5432/{DB}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",  # closed: broker down
        "ALLREVIEW_VAR_DIR": str(var),
        "MEDIA_ROOT": str(var / "media"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(repo),
    }


def manage(repo: Path, env: dict[str, str], *args: str) -> str:
    python = str(REPO / ".venv" / "bin" / "python")
    result = subprocess.run(
        [python, "manage.py", *args], cwd=repo, env=env, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(result.stdout + result.stderr)
    return result.stdout


def prepare(repo: Path, env: dict[str, str]) -> str:
    import psycopg

    with psycopg.connect(
        "postgresql://postgres:postgres@127.0.0.1:5432/postgres", autocommit=True
    ) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB}")
        conn.execute(f"CREATE DATABASE {DB}")
    manage(repo, env, "migrate", "-v", "0")
    script = (
        "from django.contrib.auth import get_user_model;"
        "from rest_framework.authtoken.models import Token;"
        "from allreview.projects.models import Project, Membership, Role;"
        "u = get_user_model().objects.create_user('bench', password='x-bench-password-1');"
        "p = Project.objects.create(name='Bench');"
        "Membership.objects.create(project=p, user=u, role=Role.UPLOADER);"
        "print(Token.objects.create(user=u).key, p.pk)"
    )
    return manage(repo, env, "shell", "-c", script).strip()


def vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def sample_rss(pid: int, done: threading.Event, peak: list[int]) -> None:
    """The process's resident set every 20 ms; its high-water mark may predate the request
    (start-up), so the peak during the request is sampled, not read from VmHWM."""
    while not done.wait(0.02):
        peak[0] = max(peak[0], vm_kib(pid, "VmRSS"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--repo", type=Path, default=REPO)
    parser.add_argument("--multipart", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="allreview-bench-rss-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "cells").mkdir()
        var = tmp_path / "var"
        var.mkdir()
        started = time.perf_counter()
        cells = write_cells(tmp_path / "cells", args.mib * 2**20)
        if args.multipart:
            parts = [f"files=@{p}" for p in cells]
        else:
            archive = tmp_path / "cells.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
                for path in cells:
                    zf.write(path, path.name)
            parts = [f"files=@{archive}"]
        print(
            f"{len(cells)} cells, {sum(p.stat().st_size for p in cells) / 2**20:.0f} MiB "
            f"({time.perf_counter() - started:.0f} s to write)"
        )
        env = env_for(args.repo, var)
        token, project = prepare(args.repo, env).split()[-2:]
        port = free_port()
        python = str(REPO / ".venv" / "bin" / "python")
        server = subprocess.Popen(
            [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=args.repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=1)
                    break
                except OSError:
                    time.sleep(0.5)
            idle = vm_kib(server.pid, "VmRSS")
            peak = [idle]
            done = threading.Event()
            sampler = threading.Thread(target=sample_rss, args=(server.pid, done, peak))
            sampler.start()
            config = tmp_path / "curl.cfg"  # thousands of -F would pass the argument limit
            config.write_text(
                "".join(
                    f'form = "{part}"\n'
                    for part in [f"project={project}", "patient_code=BENCH-1", *parts]
                )
            )
            started = time.perf_counter()
            result = subprocess.run(
                [
                    "curl",
                    "-sS",
                    "-o",
                    str(tmp_path / "response.json"),
                    "-w",
                    "%{http_code}",
                    "-H",
                    f"Authorization: Token {token}",
                    "-K",
                    str(config),
                    f"http://127.0.0.1:{port}/api/v1/cases/?project={project}",
                ],
                capture_output=True,
                text=True,
            )
            elapsed = time.perf_counter() - started
            done.set()
            sampler.join()
            hwm = vm_kib(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"HTTP {result.stdout} {result.stderr.strip()} in {elapsed:.0f} s")
        print((tmp_path / "response.json").read_text()[:300])
        print(
            f"web process RSS: {idle / 1024:.0f} MiB idle, peak {peak[0] / 1024:.0f} MiB during "
            f"the upload (+{(peak[0] - idle) / 1024:.0f} MiB); VmHWM {hwm / 1024:.0f} MiB"
        )


if __name__ == "__main__":
    main()
