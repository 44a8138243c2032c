"""A minimal WSGI app for tests/ops/test_keepalive.py: one small JSON body, so gunicorn starts
in a second and the test measures the server's transport, not Django's start-up."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'{"status": "ok", "checks": {"process": "ok"}}'


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]
