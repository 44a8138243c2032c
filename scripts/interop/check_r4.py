"""Check saved AllReview bundles against the FHIR R4 (4.0.1) models of fhir.resources 6.4.0.

AllReview builds and validates its bundles with fhir.resources 8 (R4B models, FHIR 4.3). This
script, run in a separate environment, shows that the same JSON parses as R4 4.0.1 and keeps
every element (docs/fhir.md):

    python3 -m venv /tmp/r4 && /tmp/r4/bin/pip install 'fhir.resources==6.4.0' 'pydantic[email]==1.10.*'
    curl -H "Authorization: Token $TOKEN" .../api/v1/cases/7/fhir/ > case7.json
    /tmp/r4/bin/python scripts/interop/check_r4.py case7.json
"""

from __future__ import annotations

import json
import sys

from fhir.resources import __fhir_version__
from fhir.resources.bundle import Bundle


def _lost(sent: object, kept: object, path: str = "") -> list[str]:
    """Elements of `sent` that the R4 parse did not keep (timestamps' Z/+00:00 aside)."""
    if isinstance(sent, dict) and isinstance(kept, dict):
        return [p for k in sent for p in _lost(sent[k], kept.get(k), f"{path}/{k}")]
    if isinstance(sent, list) and isinstance(kept, list) and len(sent) == len(kept):
        return [
            p
            for i, (a, b) in enumerate(zip(sent, kept, strict=True))
            for p in _lost(a, b, f"{path}[{i}]")
        ]
    if isinstance(sent, str) and isinstance(kept, str) and sent.replace("Z", "+00:00") == kept:
        return []
    return [] if sent == kept else [path]


def main(paths: list[str]) -> int:
    assert __fhir_version__ == "4.0.1", f"need the R4 models, found FHIR {__fhir_version__}"
    failed = 0
    for path in paths:
        with open(path) as handle:
            sent = json.load(handle)
        kept = json.loads(Bundle.parse_obj(sent).json())
        lost = _lost(sent, kept)
        failed += bool(lost)
        print(f"{path}: {'valid R4 4.0.1' if not lost else 'elements lost: ' + ', '.join(lost)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
