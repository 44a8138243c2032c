"""The permission matrix runs on `world` (tests/world.py) with no broker behind it."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Writes that queue work (retry, retrain, saliency) must not need a worker here."""
    monkeypatch.setattr("celery.app.task.Task.delay", lambda self, *a, **k: None)
