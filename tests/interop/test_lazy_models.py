"""The FHIR models (~27 MB, half a second) load when a report is first built, not when the web
process starts: a web worker that never serves a report never pays for them."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.paths import REPO

PROBE = """
import sys, django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns  # every urls module, the API's included
print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(('fhir', 'pydantic'))}))
"""


def test_web_start_does_not_import_the_fhir_models():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
