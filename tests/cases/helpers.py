from __future__ import annotations

from allreview.cases.models import Case, CaseStatus, Cell, Prediction
from allreview.mlmodels.models import ModelVersion


def make_cells(case: Case, n: int, *, model_version: ModelVersion | None = None) -> list[Cell]:
    """Rows only (no files): for pages and queries whose subject is not the image bytes."""
    cells = Cell.objects.bulk_create(
        Cell(
            case=case,
            image=f"cells/{case.project_id}/{case.pk}/{i:064x}.png",
            thumbnail=f"cells/{case.project_id}/{case.pk}/{i:064x}.thumb.jpg",
            sha256=f"{i:064x}",
            size_bytes=1000,
            width=450,
            height=450,
            image_format="PNG",
            original_name=f"cell_{i}.png",
        )
        for i in range(n)
    )
    if model_version is not None:
        Prediction.objects.bulk_create(
            Prediction(
                cell=cell,
                model_version=model_version,
                probability=(i % 10) / 10,
                label="all" if i % 10 >= 5 else "hem",
                uncertainty=0.01,
            )
            for i, cell in enumerate(cells)
        )
        Case.objects.filter(pk=case.pk).update(model_version=model_version, status=CaseStatus.READY)
    return cells


def make_model_version(name: str = "m1", *, project=None) -> ModelVersion:
    """A registry row (no checkpoint file): shared, or the project's own."""
    return ModelVersion.objects.create(
        name=name,
        project=project,
        profile="tiny",
        architecture="tiny",
        checkpoint=f"models/{name}.pt",
        sha256="0" * 64,
    )
