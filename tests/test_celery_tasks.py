"""Every task is acknowledged late (a lost worker's task is redelivered) by the setting alone:
no task repeats it."""

from __future__ import annotations

import re

from allreview.celery import app
from tests.paths import REPO


def test_every_task_acks_late_by_the_setting():
    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if name.startswith("allreview.")}
    assert len(ours) >= 9
    assert all(task.acks_late for task in ours.values()), sorted(ours)


def test_no_task_sets_acks_late_itself():
    for path in (REPO / "allreview").rglob("tasks.py"):
        assert not re.search(r"acks_late\s*=", path.read_text()), path
