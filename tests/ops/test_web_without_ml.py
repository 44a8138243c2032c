"""The web process serves every page and API, and the field page's writes (a click on a missed
cell segments the field in the request), without the ML stack (issue 12): torch, timm,
torchvision, grad-cam and matplotlib cost ~1 GB of RSS per web worker and seconds of start-up,
and only Celery workers and management commands need them. Checked in a fresh interpreter, since
the test session itself has imported them for other tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.permissions.test_matrix import READS, url

pytestmark = pytest.mark.django_db(transaction=True)  # the subprocess must see the rows

ML_STACK = ("torch", "timm", "torchvision", "pytorch_grad_cam", "matplotlib")

SCRIPT = """
import json, sys
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import NoReverseMatch, URLResolver, get_resolver, reverse
from django.contrib.auth import get_user_model

def walk(patterns, namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from walk(p.url_patterns, inner)
        else:
            yield namespace, p

patterns = list(walk(get_resolver().url_patterns))  # imports every view module
unscoped = []  # every route without arguments (lists, login, health, schema, API root)
for namespace, p in patterns:
    try:
        unscoped.append(reverse(f"{namespace}{p.name}"))
    except NoReverseMatch:
        pass
setup_test_environment()  # lets the test client's host "testserver" in, as under pytest
statuses = {}
client = Client()
client.force_login(get_user_model().objects.get(username="admin"))
for path in json.loads(sys.argv[1]):
    response = client.get(path)
    b"".join(response.streaming_content) if response.streaming else response.content
    statuses[path] = response.status_code
posted = {}  # the field page's writes: a click re-segments the field in the web request
for path, body in json.loads(sys.argv[2]):
    response = client.post(path, json.dumps(body), content_type="application/json")
    posted[path] = response.status_code
errors = {}
for path in unscoped:
    response = client.get(path)
    b"".join(response.streaming_content) if response.streaming else response.content
    if response.status_code >= 500:
        errors[path] = response.status_code
ml = ("torch", "timm", "torchvision", "pytorch_grad_cam", "matplotlib")
print(json.dumps({
    "patterns": len(patterns),
    "statuses": statuses,
    "posted": posted,
    "unscoped": len(unscoped),
    "errors": errors,
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ml),
}))
"""


def test_every_page_and_api_is_served_without_the_ml_stack(world, settings):  # noqa: F811
    paths = [url(template, world) for template, _ in READS.values()]
    paths += [
        url("/projects/{project}/models/{version}/confusion.svg", world),
        url("/projects/{project}/models/{version}/reliability.svg", world),
        url("/projects/{project}/drift/?format=svg", world),
        url("/projects/{project}/agreement/?format=svg", world),
        url("/api/v1/cases/?page_size=100", world),
    ]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        # the test database this session created, not the developer's
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),  # where the world's cell images were stored
    }
    posts = [
        (f"/fields/{world.field.pk}/cells/", {"x": 640, "y": 420}),  # a cell not outlined yet
        (f"/fields/cells/{world.cell.pk}/reject/", {"reason": "debris"}),
        (f"/fields/cells/{world.cell.pk}/restore/", {}),
    ]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(paths), json.dumps(posts)],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["patterns"] > 50
    assert {p: s for p, s in report["statuses"].items() if s != 200} == {}
    assert list(report["posted"].values()) == [201, 200, 200], report["posted"]
    assert report["unscoped"] > 10 and report["errors"] == {}
    assert report["loaded"] == []


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
