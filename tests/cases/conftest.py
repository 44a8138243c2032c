"""Fixtures of the intake tests: a Celery broker that is really unreachable."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released): connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the Celery app at a Redis URL on a closed port for the test, then restore it.
    Celery reads CELERY_BROKER_URL from the environment before its own setting, so both change;
    the app's connection and producer pools are dropped both ways, so sends really connect."""
    from allreview.celery import app

    url = f"redis://127.0.0.1:{closed_port()}/0"

    def reset_pools() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    monkeypatch.setenv("CELERY_BROKER_URL", url)
    monkeypatch.setitem(app.conf, "broker_url", url)
    reset_pools()
    yield url
    monkeypatch.undo()
    reset_pools()
