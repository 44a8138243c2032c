"""Reading pretraining runs: the backbone retraining starts from, the training page's panel."""

from __future__ import annotations

from django.db.models import QuerySet

from allreview.cases.models import Cell
from allreview.pretraining.models import PretrainRun, PretrainStatus
from allreview.projects.models import Project


def pretrain_runs_of(*, project: Project) -> QuerySet[PretrainRun]:
    return PretrainRun.objects.filter(project=project).select_related("requested_by")


def pretrain_backbone_latest(*, project: Project, profile: str) -> PretrainRun | None:
    """The newest finished backbone of this project for this profile's architecture."""
    return (
        PretrainRun.objects.filter(
            project=project, profile=profile, status=PretrainStatus.SUCCEEDED
        )
        .exclude(checkpoint="")
        .order_by("-finished_at", "-id")
        .first()
    )


def pretrain_cell_images(*, project: Project) -> list[str]:
    """Every uploaded cell of the project, labelled or not (storage names, in a stable order):
    self-supervised learning needs no label, so nothing a reader did is required."""
    # the same image uploaded in two cases counts once (in Python: SQLite, `make run`'s
    # default database, has no DISTINCT ON)
    first: dict[str, str] = {}
    rows = Cell.objects.filter(case__project=project).order_by("sha256", "id")
    for sha256, image in rows.values_list("sha256", "image").iterator():
        first.setdefault(sha256, image)
    return list(first.values())
