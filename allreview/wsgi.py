"""The WSGI application gunicorn serves in production: Django, with the probes answered first.

Container health checks call http://127.0.0.1:8000/readyz. Through Django that request would
meet ALLOWED_HOSTS (the server's public name) and SECURE_SSL_REDIRECT (no TLS inside the
container); answering the two probe paths here keeps both checks strict for everything else.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from allreview.ops.health import HealthReport, liveness, readiness

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "allreview.settings")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
PROBES: dict[str, Callable[[], HealthReport]] = {"/healthz": liveness, "/readyz": readiness}


def _answer(report: HealthReport, start_response: StartResponse) -> list[bytes]:
    body = json.dumps(report.as_dict(public=True)).encode()
    status = "200 OK" if report.ok else "503 Service Unavailable"
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
    ]
    start_response(status, headers)
    return [body]


def with_probes(app: WSGIApp) -> WSGIApp:
    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        probe = PROBES.get(environ.get("PATH_INFO", ""))
        if probe is None or environ.get("REQUEST_METHOD") not in {"GET", "HEAD"}:
            return app(environ, start_response)
        # Outside Django's request cycle: close broken or expired connections ourselves.
        close_old_connections()
        try:
            return _answer(probe(), start_response)
        finally:
            close_old_connections()

    return application


application = with_probes(get_wsgi_application())
