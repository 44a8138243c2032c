"""AllReview as `make run` serves it, for benchmarks: a fresh var folder (SQLite file, filesystem
broker, media), migrated, one admin with an API token in one project, and `manage.py devserver`
on loopback. Used by gallery_paint.py and peer_labelstudio.py; changes nothing outside its
temporary folder.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python")
USERNAME = "bench"
PASSWORD = "bench-pass-1234-correct-horse"

_SETUP = """
import json
from django.contrib.auth import get_user_model
from allreview.accounts.services import api_token_issue
from allreview.projects.models import Membership, Project
user = get_user_model().objects.create_user({username!r}, password={password!r})
project = Project.objects.create(name="Bench lab")
Membership.objects.create(project=project, user=user, role="admin")
print(json.dumps({{"project": project.pk, "token": api_token_issue(user=user)}}))
"""


@dataclass
class Server:
    url: str
    pid: int
    project: int
    token: str
    env: dict[str, str]

    def rss_mb(self) -> float:
        with open(f"/proc/{self.pid}/status") as handle:
            kb = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS"))
        return kb / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_env(var: Path) -> dict[str, str]:
    """scripts/run.sh's environment: embedded defaults (no DATABASE_URL, no broker URL)."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "allreview.settings",
        "ALLREVIEW_VAR_DIR": str(var),
        "SECRET_KEY": "benchmark-only-" + "x" * 40,
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise SystemExit("the web server exited before answering")
        try:
            with urllib.request.urlopen(url + "/login/", timeout=2):
                return time.perf_counter() - start
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the web server did not answer within {timeout} s")


@contextmanager
def embedded_server(folder: Path | None = None) -> Iterator[Server]:
    """Migrate a fresh var folder, add the bench user, start devserver; stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="allreview-bench-") as tmp:
        var = Path(folder or tmp) / "var"
        env = embedded_env(var)
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        setup = manage(env, "shell", "-c", _SETUP.format(username=USERNAME, password=PASSWORD))
        facts = json.loads(setup.strip().splitlines()[-1])
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(var / "devserver.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [PYTHON, "manage.py", "devserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(url, process)
            yield Server(url, process.pid, facts["project"], facts["token"], env)
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()


def browser_session(server: Server) -> requests.Session:
    """A session signed in through the login form, as a browser is (pages and images)."""
    session = requests.Session()
    session.get(f"{server.url}/login/")
    response = session.post(
        f"{server.url}/login/",
        data={
            "username": USERNAME,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{server.url}/login/"},
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise SystemExit(f"login failed: HTTP {response.status_code}")
    return session


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":  # smoke: start, print the facts, stop
    with embedded_server() as server:
        print(server.url, server.project, f"RSS {server.rss_mb():.0f} MB")
    sys.exit(0)
