"""JSON logs: one object a line, patient identifiers masked wherever they slip in."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from allreview.ops.logs import JsonFormatter, scrub

REPO = Path(__file__).resolve().parents[2]


def record(msg: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(msg % args if args else msg)
        except ValueError:
            exc_info = sys.exc_info()
    rec = logging.LogRecord("allreview.cases", logging.ERROR, __file__, 1, msg, args, exc_info)
    rec.__dict__.update(extra)
    return rec


def formatted(rec: logging.LogRecord) -> dict[str, object]:
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    return json.loads(line)


def test_a_record_becomes_one_json_object_with_the_usual_fields():
    entry = formatted(record("case %s classified with model version %s", 12, 3))
    assert entry["message"] == "case 12 classified with model version 3"
    assert entry["level"] == "ERROR" and entry["logger"] == "allreview.cases"
    assert entry["time"].endswith("+00:00")


def test_patient_codes_in_query_strings_and_pairs_are_masked():
    text = scrub("GET /api/v1/cases/?project=1&patient_code=P-0042&status=ready patient: 'Doe J'")
    assert "P-0042" not in text and "Doe J" not in text
    assert "project=1" in text and "status=ready" in text


def test_unique_violation_details_do_not_leak_the_row():
    text = scrub(
        "duplicate key value. DETAIL:  Key (project_id, patient_code)=(1, CNMC-17) exists."
    )
    assert "CNMC-17" not in text
    assert "Key (project_id, patient_code)=" in text


def test_cnmc_file_names_that_carry_the_patient_number_are_masked():
    assert "H17" not in scrub("could not decode UID_H17_3_1_hem.bmp")


def test_identifying_extras_are_dropped_and_requests_lose_their_query_string():
    request = SimpleNamespace(method="GET", path="/cases/4/", GET={"patient_code": "P-9"})
    entry = formatted(
        record("Not Found", patient_code="P-9", original_name="x.png", request=request, case_id=4)
    )
    assert "patient_code" not in entry and "original_name" not in entry
    assert entry["request"] == {"method": "GET", "path": "/cases/4/"}
    assert entry["case_id"] == 4
    assert "P-9" not in json.dumps(entry)


def test_exceptions_are_kept_but_scrubbed():
    entry = formatted(record("upload failed for patient_code=P-77", exc=True))
    assert "ValueError" in entry["exception"]
    assert "P-77" not in json.dumps(entry)


def run_check(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    base.update(SECRET_KEY="logs-test-secret-key-long-enough-0123456789abcdef", **env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, logging; django.setup(); "
            "logging.getLogger('allreview.x').warning('case %s for patient_code=P-5', 7)",
        ],
        cwd=REPO,
        env={**base, "DJANGO_SETTINGS_MODULE": "allreview.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_log_format_json_configures_django_logging():
    result = run_check(LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["message"] == "case 7 for patient_code=[redacted]"


def test_unknown_log_format_is_a_clear_error():
    result = run_check(LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT='xml' is not plain or json" in result.stderr
