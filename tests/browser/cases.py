"""Cases with real image files for the browser: synthetic cells, or real C-NMC cells when asked."""

from __future__ import annotations

from pathlib import Path

from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, CaseStatus, Prediction
from allreview.cases.services import case_upload
from classifier.synthetic import make_cell
from tests.helpers import encode


def synthetic_files(n: int, offset: int = 0) -> list[IncomingFile]:
    labels = ("all", "hem")
    return [
        IncomingFile(f"cell_{i:03d}.png", encode(make_cell(labels[i % 2], offset + i), "PNG"))
        for i in range(n)
    ]


def cnmc_files(root: Path, n: int) -> list[IncomingFile]:
    paths = (
        sorted(root.glob("images/all/*.png"))[: n // 2]
        + sorted(root.glob("images/hem/*.png"))[: n - n // 2]
    )
    return [IncomingFile(p.name, p.read_bytes(), truth=p.parent.name) for p in paths]


def classified_case(*, project, user, model, files: list[IncomingFile], code: str) -> Case:
    """Upload real files, then write predictions as if the worker had run (spread over 0..1)."""
    case = case_upload(project=project, user=user, patient_code=code, files=files)
    cells = list(case.cells.order_by("id"))
    predictions = []
    for i, cell in enumerate(cells):
        truth_all = (cell.truth or ("all" if i % 2 == 0 else "hem")) == "all"
        probability = round(
            0.55 + 0.4 * ((i * 7) % 10) / 10 if truth_all else 0.05 + 0.4 * ((i * 3) % 10) / 10, 3
        )
        predictions.append(
            Prediction(
                cell=cell,
                model_version=model,
                probability=probability,
                label="all" if probability >= 0.5 else "hem",
                uncertainty=round(0.02 + 0.2 * (1 - abs(probability - 0.5) * 2), 3),
            )
        )
    Prediction.objects.bulk_create(predictions)
    Case.objects.filter(pk=case.pk).update(model_version=model, status=CaseStatus.READY)
    case.refresh_from_db()
    return case


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
