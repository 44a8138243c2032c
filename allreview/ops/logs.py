"""Structured logs: one JSON object a line, without patient identifiers.

The application logs primary keys, never patient codes or file names; this formatter is the
safety net for what slips through (an exception quoting a unique key, a query string, a
library's message): it drops identifying extras and masks identifier-shaped text.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

REDACTED = "[redacted]"

# Extras whose name says they may identify a patient are never written.
IDENTIFYING_KEY = re.compile(r"patient|specimen|accession|original_name|file_?name", re.I)
# key=value or key: value pairs in free text (query strings, reprs, form dumps).
IDENTIFYING_PAIR = re.compile(
    r"(?P<key>\b\w*(?:patient|specimen|accession|original_name|file_?name)\w*\b['\"]?\s*[=:]\s*)"
    r"(?P<value>'[^']*'|\"[^\"]*\"|[^\s&,;)\]}]+)",
    re.I,
)
# PostgreSQL's unique-violation detail quotes the row: Key (project_id, patient_code)=(1, P-7).
DB_KEY_DETAIL = re.compile(r"(Key \([^)]*\)=)\([^)]*\)")
# C-NMC style file names carry the patient number: UID_H12_3_1_hem.bmp.
CNMC_NAME = re.compile(r"\bUID_\w+(?:\.\w+)?")

# Attributes every LogRecord has; anything else came in through `extra=`.
STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def scrub(text: str) -> str:
    """Mask identifier-shaped substrings of free text."""
    text = IDENTIFYING_PAIR.sub(lambda m: m.group("key") + REDACTED, text)
    text = DB_KEY_DETAIL.sub(lambda m: m.group(1) + f"({REDACTED})", text)
    return CNMC_NAME.sub(REDACTED, text)


def _request_summary(request: object) -> dict[str, str]:
    # The path only: query strings carry filters such as ?patient_code=...
    return {
        "method": str(getattr(request, "method", "")),
        "path": str(getattr(request, "path", "")),
    }


def _extras(record: logging.LogRecord) -> dict[str, object]:
    extras: dict[str, object] = {}
    for key, value in record.__dict__.items():
        if key in STANDARD_ATTRS or key.startswith("_") or IDENTIFYING_KEY.search(key):
            continue
        if key == "request":
            extras[key] = _request_summary(value)
        elif isinstance(value, str):
            extras[key] = scrub(value)
        elif value is None or isinstance(value, bool | int | float):
            extras[key] = value
    return extras


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON: time, level, logger, message, process, exception, safe extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "process": record.processName,
            "pid": record.process,
        }
        entry.update(_extras(record))
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)
