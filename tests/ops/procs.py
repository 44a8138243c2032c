"""Production-mode processes for the slow ops tests: gunicorn, Celery workers and beat started
as subprocesses with the real settings module against the pytest database and the suite's Redis database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from django.db import connection

REPO = Path(__file__).resolve().parents[2]
# The suite's broker (tests/settings.py: db 15 unless CELERY_BROKER_URL says otherwise), so two
# checkouts can run their suites side by side on separate Redis databases.
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
SECRET = "smoke-test-production-secret-" + "k9Z2" * 12


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(tmp: Path, media_root: Path, **extra: str) -> dict[str, str]:
    """The real settings (allreview.settings, DEBUG off) on the test database; nothing from
    the developer's environment that would change them."""
    db = connection.settings_dict
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "allreview.settings",
        "DEBUG": "false",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": BROKER_URL,
        "SECURE_SSL_REDIRECT": "false",  # no TLS on this machine
        "ALLREVIEW_VAR_DIR": str(tmp / "var"),
        "MEDIA_ROOT": str(media_root),
        "STATIC_ROOT": str(tmp / "static"),
        "MODEL_DEVICE": "cpu",
        "OMP_NUM_THREADS": "1",  # two cores, several processes
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@contextmanager
def running(
    specs: dict[str, list[str]], env: dict[str, str], tmp: Path
) -> Iterator[dict[str, Proc]]:
    """Start each named command; stop them all (TERM, then KILL) on the way out."""
    redis.Redis.from_url(BROKER_URL).flushdb()
    procs: dict[str, Proc] = {}
    try:
        for name, args in specs.items():
            log = tmp / f"{name}.log"
            process = subprocess.Popen(
                args, cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
            )
            procs[name] = Proc(name, process, log)
        yield procs
    finally:
        for proc in procs.values():
            proc.process.terminate()
        for proc in procs.values():
            try:
                proc.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait()


def worker_args(node: str, queues: str) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "allreview", "worker", "-Q", queues,
        "--concurrency", "1", "--loglevel", "INFO", "-n", f"{node}-{uuid.uuid4().hex[:6]}@%h",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip


def wait_until(
    what: str, ready: Callable[[], bool], procs: dict[str, Proc], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        for proc in procs.values():
            if proc.process.poll() is not None:
                raise AssertionError(f"{proc.name} exited early:\n{proc.text()[-4000:]}")
        time.sleep(0.5)
    logs = "\n".join(f"--- {p.name}\n{p.text()[-3000:]}" for p in procs.values())
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def http(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def ready(base: str) -> bool:
    try:
        return http(f"{base}/readyz")[0] == 200
    except OSError:
        return False


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, filename, content in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]
