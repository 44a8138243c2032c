"""Container health checks, one per role: `python /app/docker/healthcheck.py web|worker|beat`.

web:    GET http://127.0.0.1:8000/readyz answers 200 (database, migrations, broker, model).
worker: the worker's own Celery node answers a ping through the broker.
beat:   the database and the broker that beat needs answer (beat has no remote control).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request


def web() -> int:
    port = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as reply:
            return 0 if reply.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"web not ready: {exc}", file=sys.stderr)
        return 1


def worker() -> int:
    node = f"{os.environ.get('WORKER_NAME', 'worker')}@{socket.gethostname()}"
    command = ["celery", "-A", "allreview", "inspect", "ping", "-d", node, "--timeout", "10"]
    return subprocess.run(command, capture_output=True, timeout=50).returncode


def beat() -> int:
    command = ["python", "/app/manage.py", "health", "--check", "database", "--check", "broker"]
    return subprocess.run(command, capture_output=True, timeout=50).returncode


if __name__ == "__main__":
    role = sys.argv[1] if len(sys.argv) > 1 else "web"
    sys.exit({"web": web, "worker": worker, "beat": beat}[role]())
