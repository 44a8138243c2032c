"""`make run`'s embedded default (SQLite and the filesystem broker) must work as PostgreSQL does:
migrate and build the demo, readers and labels included, in a fresh folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_migrate_and_demo_setup_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="allreview.settings",
        DEBUG="true",
        ALLREVIEW_VAR_DIR=str(tmp_path / "var"),
    )
    for command in (["migrate", "--noinput"], ["demo_setup", "--skip-model"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert (tmp_path / "var" / "allreview.sqlite3").exists()
    assert "read by rita, sam" in result.stdout
    assert list((tmp_path / "var" / "broker" / "out").iterdir())  # four cases queued
