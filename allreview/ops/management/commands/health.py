"""`manage.py health`: the readiness checks from a shell, for worker and beat health checks
and deploy scripts. Prints the JSON report; exits 1 when a check failed."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from allreview.ops.health import CHECKS, HealthReport, check_model, readiness, run_check


class Command(BaseCommand):
    help = "Check database, migrations, broker and production model; exit 1 on failure."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="append", choices=sorted(CHECKS), help="only these (repeatable)"
        )
        parser.add_argument(
            "--load-model",
            action="store_true",
            help="load the production model on MODEL_DEVICE (a GPU worker's own check)",
        )
        parser.add_argument("--quiet", action="store_true", help="print nothing when healthy")

    def handle(self, *args: Any, **options: Any) -> None:
        report = readiness(options["check"])
        if options["load_model"]:
            loaded = run_check("model", lambda: check_model(load=True))
            others = [check for check in report.checks if check.name != "model"]
            report = HealthReport([*others, loaded])
        if not (options["quiet"] and report.ok):
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        if not report.ok:
            raise CommandError("not healthy", returncode=1)
