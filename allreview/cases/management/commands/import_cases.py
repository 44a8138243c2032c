"""manage.py import_cases PATH --project NAME: C-NMC layout (a case per patient) or a plain folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from allreview.cases.folders import FolderCase, read_cnmc_layout, read_plain_folder
from allreview.cases.ingest import IncomingFile, UploadRejected
from allreview.cases.services import case_upload
from allreview.lib.users import AnyUser
from allreview.projects.models import Project


class Command(BaseCommand):
    help = (
        "Import image folders as cases. A folder with all/ and hem/ subfolders (C-NMC layout, "
        "names UID_<patient>_<image>_<cell>_<label>.<ext>) gives one case per patient with the "
        "folder label kept as imported truth; any other folder gives one case."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--project", required=True, help="project name")
        parser.add_argument("--patient", help="patient code for a plain folder (default: its name)")
        parser.add_argument("--user", help="user name recorded as uploader")
        parser.add_argument(
            "--prefix", default="", help="prefix for C-NMC patient codes, e.g. CNMC-"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        root: Path = options["path"]
        if not root.is_dir():
            raise CommandError(f"{root} is not a folder")
        project = Project.objects.filter(name=options["project"]).first()
        if project is None:
            raise CommandError(f"no project named {options['project']!r}")
        user = self._user(options.get("user"))
        layout = read_cnmc_layout(root)
        if layout is None:
            cases = [read_plain_folder(root, options.get("patient") or _safe_code(root.name))]
        else:
            cases, problems = layout
            if problems:
                listing = "\n".join(f"  {p.path}: {p.reason}" for p in problems)
                raise CommandError(
                    f"{len(problems)} file(s) do not fit the C-NMC layout:\n{listing}"
                )
            for case in cases:
                case.patient_code = options["prefix"] + case.patient_code
        self._import(project, user, cases)

    def _user(self, username: str | None) -> Any:
        if username is None:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        return user

    def _import(self, project: Project, user: AnyUser, cases: list[FolderCase]) -> None:
        failures: list[str] = []
        for folder_case in tqdm(cases, desc="cases", unit="case", disable=None):
            files = [
                IncomingFile(p.name, truth=truth, path=str(p)) for p, truth in folder_case.files
            ]
            try:
                case = case_upload(
                    project=project,
                    user=user,
                    patient_code=folder_case.patient_code,
                    files=files,
                    check_permission=False,
                )
            except UploadRejected as exc:
                lines = "\n".join(f"    {p.name}: {p.reason}" for p in exc.problems)
                failures.append(f"  patient {folder_case.patient_code}: nothing imported\n{lines}")
            except ValidationError as exc:
                failures.append(f"  patient {folder_case.patient_code}: {'; '.join(exc.messages)}")
            else:
                self.stdout.write(
                    f"case {case.pk}: patient {case.patient_code}, {len(files)} cells"
                )
        imported = len(cases) - len(failures)
        self.stdout.write(self.style.SUCCESS(f"imported {imported} of {len(cases)} case(s)"))
        if failures:
            raise CommandError("some cases were refused:\n" + "\n".join(failures))


def _safe_code(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in name).strip("-._")
    return (cleaned or "case")[:64]
