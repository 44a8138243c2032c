"""What retraining reads: final labels of signed-off cases, the frozen evaluation set, drift."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncWeek

from allreview.cases.models import CaseStatus, Cell, CellClass, Label, Prediction
from allreview.cases.selectors import current_label_subquery
from allreview.projects.models import Project
from allreview.training.models import EvaluationPatient, RunStatus, TrainingRun


@dataclass(frozen=True)
class LabelledCell:
    cell_id: int
    image: str
    label: str  # "all" or "hem"
    patient: str


def final_labelled_cells(*, project: Project) -> QuerySet[Cell]:
    """Cells of signed-off cases whose final label is a class (unsure and artifact are left out).
    The final label is the newest label on the signed case."""
    return (
        Cell.objects.filter(case__project=project, case__status=CaseStatus.SIGNED_OFF)
        .annotate(final_label=current_label_subquery(), patient=F("case__patient_code"))
        .filter(final_label__in=CellClass.values)
        .order_by("id")
    )


def evaluation_codes(*, project: Project) -> set[str]:
    return set(
        EvaluationPatient.objects.filter(project=project).values_list("patient_code", flat=True)
    )


def _labelled(queryset: QuerySet[Cell]) -> list[LabelledCell]:
    rows = queryset.values_list("pk", "image", "final_label", "patient")
    return [LabelledCell(*row) for row in rows]


def training_cells(*, project: Project) -> list[LabelledCell]:
    frozen = evaluation_codes(project=project)
    return _labelled(final_labelled_cells(project=project).exclude(patient__in=frozen))


def evaluation_cells(*, project: Project) -> list[LabelledCell]:
    frozen = evaluation_codes(project=project)
    return _labelled(final_labelled_cells(project=project).filter(patient__in=frozen))


def cells_digest(cells: list[LabelledCell]) -> str:
    """Identifies exactly which cells with which labels: equal digests mean nothing new."""
    pairs = [[c.cell_id, c.label] for c in cells]
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()


def cells_snapshot(cells: list[LabelledCell]) -> dict[str, Any]:
    return {
        "cells": [[c.cell_id, c.label] for c in cells],
        "count": len(cells),
        "per_class": dict(Counter(c.label for c in cells)),
        "per_patient": dict(Counter(c.patient for c in cells)),
        "hash": cells_digest(cells),
    }


def last_finished_run(*, project: Project) -> TrainingRun | None:
    return (
        TrainingRun.objects.filter(project=project, status=RunStatus.SUCCEEDED)
        .order_by("-created_at", "-id")
        .first()
    )


def new_final_labels_count(*, project: Project) -> int:
    """Training cells (with their labels) that the last finished run did not train on."""
    current = {(c.cell_id, c.label) for c in training_cells(project=project)}
    last = last_finished_run(project=project)
    seen = {tuple(pair) for pair in last.data_snapshot.get("cells", [])} if last else set()
    return len(current - seen)


def drift_by_week(*, project: Project) -> list[dict[str, Any]]:
    """Per week and model version: override rate (reviewers' class label differs from the
    model's, among cells reviewed with a class), predicted blast rate, mean uncertainty."""
    reviewed = Subquery(
        Label.objects.filter(cell_id=OuterRef("cell_id")).order_by("-id").values("value")[:1]
    )
    with_class = Q(reviewed__in=CellClass.values)
    rows = (
        Prediction.objects.filter(
            cell__case__project=project, cell__case__model_version=F("model_version")
        )
        .annotate(week=TruncWeek("created_at"), reviewed=reviewed)
        .values("week", "model_version__name")
        .annotate(
            n=Count("id"),
            n_blasts=Count("id", filter=Q(label=CellClass.ALL)),
            n_reviewed=Count("id", filter=with_class),
            n_overridden=Count("id", filter=with_class & ~Q(reviewed=F("label"))),
            mean_uncertainty=Avg("uncertainty"),
        )
        .order_by("week", "model_version__name")
    )
    return [
        {
            **row,
            "blast_rate": row["n_blasts"] / row["n"],
            "override_rate": row["n_overridden"] / row["n_reviewed"] if row["n_reviewed"] else None,
        }
        for row in rows
    ]
