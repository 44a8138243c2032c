"""manage.py register_model CHECKPOINT --name NAME [--project ID] [--promote --reason TEXT]

Brings a checkpoint trained with `python -m classifier train` into the registry as a candidate:
the project's own with --project, else a shared base model any project may deploy. --promote
makes it that project's production model, or without --project the installation default used
by projects that have not deployed their own (audited; cases waiting for a model are then
classified).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from allreview.mlmodels.models import ModelVersion
from allreview.mlmodels.services import model_version_promote, model_version_register
from allreview.projects.models import Project
from classifier.errors import ClassifierError


class Command(BaseCommand):
    help = "Register a classifier checkpoint as a model version (a candidate unless --promote)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("checkpoint", type=Path)
        parser.add_argument(
            "--name", required=True, help="unique version name, e.g. cnmc-fast-2026-11"
        )
        parser.add_argument(
            "--project",
            type=int,
            default=None,
            help="id of the project the version belongs to (omitted: a shared base model)",
        )
        parser.add_argument("--notes", default="")
        parser.add_argument(
            "--promote",
            action="store_true",
            help="deploy it: the project's production model, or the installation default",
        )
        parser.add_argument(
            "--reason", default="", help="why it is promoted (kept in the audit trail)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if ModelVersion.objects.filter(name=options["name"]).exists():
            raise CommandError(f"a model version named {options['name']!r} exists already")
        if options["promote"] and not options["reason"].strip():
            raise CommandError("--promote needs a --reason for the audit trail")
        project = None
        if options["project"] is not None:
            project = Project.objects.filter(pk=options["project"]).first()
            if project is None:
                raise CommandError(f"no project with id {options['project']}")
        try:
            version = model_version_register(
                checkpoint=options["checkpoint"],
                name=options["name"],
                notes=options["notes"],
                project=project,
            )
        except ClassifierError as exc:
            raise CommandError(str(exc)) from None
        owner = f"project {project.pk}" if project else "shared"
        self.stdout.write(
            f"registered {version.name} ({owner}): profile {version.profile}, "
            f"init {version.initialisation}, sha256 {version.sha256[:12]}"
        )
        if options["promote"]:
            model_version_promote(
                version=version, project=project, reason=options["reason"].strip()
            )
            where = f"project {project.pk}'s production model" if project else "the default"
            self.stdout.write(self.style.SUCCESS(f"{version.name} is now {where}"))
