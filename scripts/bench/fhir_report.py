"""What a FHIR report costs (docs/benchmarks.md, "FHIR reports"): the one-off import of the
fhir.resources models in a fresh interpreter (time, RSS), then building and serialising a
validated bundle, against the baseline of the case summary it states (summarise + json.dumps of
the same numbers), in the same run. No database: the report is made of unsaved rows.

Usage: .venv/bin/python scripts/bench/fhir_report.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# VmRSS, not ru_maxrss: a child's high-water mark starts at its parent's (it survives exec).
IMPORT_PROBE = """
import time
def rss():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])
before = rss()
t = time.perf_counter()
from fhir.resources.R4B import get_fhir_model_class
for kind in ("Bundle", "DiagnosticReport", "Observation", "Device", "Specimen",
             "Practitioner", "Provenance"):
    get_fhir_model_class(kind)
print(time.perf_counter() - t, (rss() - before) / 1024)
"""


def import_cost() -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True)
    seconds, megabytes = out.stdout.split()
    return float(seconds), float(megabytes)


def sample_report():  # noqa: ANN201 (a CaseReport, imported after django.setup)
    from django.contrib.auth import get_user_model

    from allreview.cases.models import Case
    from allreview.interop.selectors import CaseReport
    from allreview.mlmodels.models import ModelVersion
    from allreview.review.models import SignOff
    from allreview.review.summary import summarise
    from allreview.training.models import ModelScore

    counts = {
        "total": 500, "predicted_all": 180, "predicted_hem": 320, "unpredicted": 0,
        "label_all": 170, "label_hem": 320, "label_unsure": 0, "label_artifact": 10,
        "reviewed": 500, "unreviewed": 0, "disagree": 14, "call_all": 170, "call_hem": 320,
    }  # fmt: skip
    now = datetime.now(UTC)
    user = get_user_model()(pk=1, username="rita", first_name="Rita", last_name="Reader")
    case = Case(pk=7, project_id=1, patient_code="PT-0007", specimen_id="S-7", created_at=now)
    version = ModelVersion(
        pk=3, name="cnmc-cpu-1", architecture="seresnext50_32x4d", sha256="a" * 64
    )
    score = ModelScore(
        n_cells=2224, n_patients=12, metrics={"weighted_f1": 0.86, "sensitivity": 0.9}
    )
    return CaseReport(
        case=case, status="final", summary=summarise(counts, 0.2), issued=now,
        sign_off=SignOff(pk=9, created_at=now), replaces=None, reopen_reason="", signer=user,
        readers=[user], model_version=version, score=score, blast_cell_ids=list(range(170)),
    ), counts  # fmt: skip


def timed(fn, repeat: int) -> float:  # noqa: ANN001
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from allreview.interop.fhir import bundle_build, bundle_json
    from allreview.review.summary import summarise

    seconds, megabytes = import_cost()
    print(f"import of the FHIR models: {seconds:.2f} s, +{megabytes:.0f} MB RSS")
    report, counts = sample_report()
    bundle_json(bundle_build(report))  # warm
    baseline = timed(lambda: json.dumps(vars(summarise(counts, 0.2))["counts"]), args.repeat)
    build = timed(lambda: bundle_json(bundle_build(report)), args.repeat)
    size = len(bundle_json(bundle_build(report)).encode())
    print(f"baseline (summary as JSON): {baseline * 1e3:.3f} ms")
    print(
        f"validated bundle built and serialised: {build * 1e3:.2f} ms ({build / baseline:.0f}x), {size} bytes"
    )


if __name__ == "__main__":
    main()
