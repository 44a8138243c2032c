"""Prepare a first run: admin user, demo project, starter model and demo cases (one of them a
whole smear field). Idempotent."""

from __future__ import annotations

import io
import random
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from tqdm import tqdm

from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, Label
from allreview.cases.services import case_upload
from allreview.demo.fields import DEMO_FIELD_CASE, demo_field_jpeg
from allreview.demo.starter import starter_model_ensure
from allreview.lib.secretfile import secret_file_ensure
from allreview.lib.users import AnyUser
from allreview.projects.models import Membership, Project, Role
from allreview.review.services.labels import label_set
from allreview.review.services.readers import case_reader_add
from classifier.synthetic import make_case_cells

DEMO_PROJECT = "Demo lab"
ADMIN_USERNAME = "admin"
# (patient code, number of cells, blast fraction): two leukemic patients, two healthy ones.
# The double-read demo: readers (user name, share of cells they get wrong) of one case.
DEMO_DOUBLE_READ = "DEMO-003"
DEMO_READERS = [("rita", 0.05), ("sam", 0.10)]
DEMO_READ_SEED = 42
DEMO_CASES = [
    ("DEMO-001", 120, 0.75),
    ("DEMO-002", 80, 0.02),
    ("DEMO-003", 100, 0.6),
    ("DEMO-004", 60, 0.0),
]


class Command(BaseCommand):
    help = "Create the demo admin, project, starter model and cases (skips whatever exists)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--skip-model", action="store_true", help="do not train a starter model"
        )
        parser.add_argument("--epochs", type=int, default=None, help="starter model epochs")

    def handle(self, *args: Any, **options: Any) -> None:
        password = admin_password()
        user = self._admin(password)
        project, _ = Project.objects.get_or_create(
            name=DEMO_PROJECT, defaults={"description": "Synthetic cells for trying AllReview."}
        )
        Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.ADMIN})
        if not options["skip_model"]:
            self._model(options["epochs"])
        self._cases(project, user)
        self._field_case(project, user)
        self._double_read(project, user)
        self._reader_passwords()

    def _admin(self, password: str) -> Any:
        users = get_user_model().objects
        user = users.filter(username=ADMIN_USERNAME).first()
        if user is None:
            user = users.create_superuser(ADMIN_USERNAME, email="", password=password)
            self.stdout.write(f"created user {ADMIN_USERNAME}")
        return user

    def _model(self, epochs: int | None) -> None:
        bar = tqdm(desc="training starter model", unit="epoch", disable=None)

        def on_epoch(report: Any) -> None:
            bar.total = report.epochs
            bar.set_postfix(loss=f"{report.train_loss:.3f}", val_f1=f"{report.val_weighted_f1:.3f}")
            bar.update(1)

        version = starter_model_ensure(epochs=epochs, on_epoch=on_epoch)
        bar.close()
        self.stdout.write(f"production model: {version.name}")

    def _cases(self, project: Project, user: AnyUser) -> None:
        for seed, (code, n_cells, blast_fraction) in enumerate(DEMO_CASES):
            if Case.objects.filter(project=project, patient_code=code).exists():
                continue
            cells = make_case_cells(seed=seed, n_cells=n_cells, blast_fraction=blast_fraction)
            files = [
                IncomingFile(f"cell_{i:04d}.png", _png(image), truth=label)
                for i, (label, image) in enumerate(cells)
            ]
            case_upload(
                project=project,
                user=user,
                patient_code=code,
                specimen_id=f"SP-{seed + 1:03d}",
                files=files,
            )
            self.stdout.write(f"demo case {code}: {n_cells} cells queued")

    def _field_case(self, project: Project, user: AnyUser) -> None:
        """A smear field (issue 14) made from the demo's synthetic cells: the worker finds its
        white cells, cuts and classifies them, and the case page shows the field."""
        if Case.objects.filter(project=project, patient_code=DEMO_FIELD_CASE).exists():
            return
        start = time.perf_counter()
        case_upload(
            project=project,
            user=user,
            patient_code=DEMO_FIELD_CASE,
            specimen_id="SP-005",
            files=[IncomingFile(f"{DEMO_FIELD_CASE}_field_1.jpg", demo_field_jpeg())],
        )
        took = time.perf_counter() - start  # made and stored here; segmented by the worker
        self.stdout.write(f"demo case {DEMO_FIELD_CASE}: one smear field queued ({took:.1f} s)")

    @transaction.atomic
    def _double_read(self, project: Project, admin: Any) -> None:
        """Two demo readers read DEMO-003 (the second blinded), with a few honest mistakes, so
        the adjudication queue and the agreement page show real figures from the first run."""
        case = Case.objects.filter(project=project, patient_code=DEMO_DOUBLE_READ).first()
        if case is None or Label.objects.filter(cell__case=case).exists():
            return
        rng = random.Random(DEMO_READ_SEED)
        for name, error_rate in DEMO_READERS:
            reader = get_user_model().objects.filter(username=name).first()
            if reader is None:
                reader = get_user_model().objects.create_user(name, password=user_password(name))
            Membership.objects.get_or_create(
                project=project, user=reader, defaults={"role": Role.REVIEWER}
            )
            if not case.readers.filter(user=reader).exists():
                case_reader_add(case=case, user=admin, reader=reader)
            for cell in case.cells.order_by("id"):
                roll = rng.random()
                other = "hem" if cell.truth == "all" else "all"
                value = cell.truth if roll > error_rate else ("unsure" if roll < 0.02 else other)
                label_set(cell=cell, user=reader, value=value)
        self.stdout.write(
            f"demo case {DEMO_DOUBLE_READ}: read by {', '.join(n for n, _ in DEMO_READERS)}"
        )

    def _reader_passwords(self) -> None:
        """Each demo reader signs in with their own password (earlier installs gave them the
        admin's: a reader's login must never open the admin account)."""
        for name, _ in DEMO_READERS:
            reader = get_user_model().objects.filter(username=name).first()
            password = user_password(name)
            if reader is not None and not reader.check_password(password):
                reader.set_password(password)
                reader.save(update_fields=["password"])


def user_password(username: str) -> str:
    """Generated once per install and user, kept under var/ (mode 0600 from creation), so every
    run prints the same logins."""
    return secret_file_ensure(Path(settings.VAR_DIR) / f"{username}_password")


def admin_password() -> str:
    return user_password(ADMIN_USERNAME)


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
