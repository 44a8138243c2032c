"""manage.py register_model CHECKPOINT --name NAME [--promote --reason TEXT]

Brings a checkpoint trained with `python -m classifier train` into the registry as a candidate,
and optionally makes it production (audited; cases waiting for a model are then classified).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from allreview.mlmodels.models import ModelVersion
from allreview.mlmodels.services import model_version_promote, model_version_register
from classifier.errors import ClassifierError


class Command(BaseCommand):
    help = "Register a classifier checkpoint as a model version (a candidate unless --promote)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("checkpoint", type=Path)
        parser.add_argument(
            "--name", required=True, help="unique version name, e.g. cnmc-fast-2026-11"
        )
        parser.add_argument("--notes", default="")
        parser.add_argument("--promote", action="store_true", help="make it the production model")
        parser.add_argument(
            "--reason", default="", help="why it is promoted (kept in the audit trail)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if ModelVersion.objects.filter(name=options["name"]).exists():
            raise CommandError(f"a model version named {options['name']!r} exists already")
        if options["promote"] and not options["reason"].strip():
            raise CommandError("--promote needs a --reason for the audit trail")
        try:
            version = model_version_register(
                checkpoint=options["checkpoint"], name=options["name"], notes=options["notes"]
            )
        except ClassifierError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"registered {version.name}: profile {version.profile}, init {version.initialisation}, "
            f"sha256 {version.sha256[:12]}"
        )
        if options["promote"]:
            model_version_promote(version=version, reason=options["reason"].strip())
            self.stdout.write(self.style.SUCCESS(f"{version.name} is now in production"))
