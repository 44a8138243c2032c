"""Reader QC test helpers (fixtures are in conftest.py): members, uploads of synthetic cells,
what the worker would write, and which of a case's cells are stand-ins."""

from __future__ import annotations

from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, CaseStatus, Cell, Prediction
from allreview.cases.services import case_upload
from allreview.quality.models import ReferenceCell
from classifier.synthetic import make_cell
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import encode, login

__all__ = ["answers", "classify", "login", "member", "own_ids", "stand_in_ids", "upload"]


def member(project, name: str, role: str):
    user = UserFactory(username=name)
    MembershipFactory(project=project, user=user, role=role)
    return user


def upload(project, user, patient: str, n: int, seed: int) -> Case:
    files = [
        IncomingFile(
            f"{patient}_{i}.png", encode(make_cell("all" if i % 2 else "hem", seed + i), "PNG")
        )
        for i in range(n)
    ]
    return case_upload(project=project, user=user, patient_code=patient, files=files)


def classify(case: Case, version) -> None:
    """What the worker would write: a prediction for every cell of the case (stand-ins too)."""
    cells = list(Cell.objects.filter(case=case).order_by("id"))
    Prediction.objects.bulk_create(
        Prediction(
            cell=c,
            model_version=version,
            probability=(c.pk % 10) / 10,
            label="all" if c.pk % 10 >= 5 else "hem",
            uncertainty=(c.pk % 7) / 100,
        )
        for c in cells
    )
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.READY, model_version=version)
    case.refresh_from_db()


def stand_in_ids(case: Case) -> list[int]:
    return list(case.cells.filter(is_reference=True).order_by("id").values_list("id", flat=True))


def own_ids(case: Case) -> list[int]:
    return list(case.cells.filter(is_reference=False).order_by("id").values_list("id", flat=True))


def answers(case: Case) -> dict[int, str]:
    """stand-in cell id -> its known answer."""
    return dict(
        ReferenceCell.objects.filter(placements__case=case).values_list(
            "placements__stand_in_id", "answer"
        )
    )
