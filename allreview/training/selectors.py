"""What retraining reads: final labels of signed-off cases, the frozen evaluation set, drift."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Avg, Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncWeek

from allreview.cases.models import CaseStatus, Cell, CellClass, Label, Prediction
from allreview.projects.models import Project
from allreview.review.selectors.final import signed_label_subquery
from allreview.training.models import EvaluationPatient, RunStatus, TrainingRun

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


@dataclass(frozen=True)
class LabelledCell:
    cell_id: int
    image: str
    label: str  # "all" or "hem"
    patient: str


class FinalLabelled(TypedDict):
    final_label: str
    patient: str


# Lookups on the annotations go through Q(): django-stubs types `patient__in` on an annotation
# as the annotation's own type.
if TYPE_CHECKING:
    FinalLabelledCells = QuerySet[WithAnnotations[Cell, FinalLabelled]]


def final_labelled_cells(*, project: Project) -> FinalLabelledCells:
    """Cells of signed-off cases whose final label is a class (unsure and artifact are left out).
    The final label is the one the case's sign-off recorded (SignedCell), never the live one."""
    return (
        Cell.objects.filter(
            case__project=project, case__status=CaseStatus.SIGNED_OFF, is_reference=False
        )
        .annotate(final_label=signed_label_subquery(), patient=F("case__patient_code"))
        .filter(Q(final_label__in=CellClass.values))
        .order_by("id")
    )


def evaluation_codes(*, project: Project) -> set[str]:
    return set(
        EvaluationPatient.objects.filter(project=project).values_list("patient_code", flat=True)
    )


def _labelled(queryset: FinalLabelledCells) -> list[LabelledCell]:
    rows = queryset.values_list("pk", "image", "final_label", "patient")
    return [LabelledCell(*row) for row in rows]


def training_cells(*, project: Project) -> list[LabelledCell]:
    frozen = evaluation_codes(project=project)
    return _labelled(final_labelled_cells(project=project).exclude(Q(patient__in=frozen)))


def evaluation_cells(*, project: Project) -> list[LabelledCell]:
    frozen = evaluation_codes(project=project)
    return _labelled(final_labelled_cells(project=project).filter(Q(patient__in=frozen)))


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
            cell__case__project=project,
            cell__case__model_version=F("model_version"),
            cell__is_reference=False,
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


def registry_rows(*, project: Project) -> list[dict[str, Any]]:
    """The project's own and the shared versions, each with its standing in this project and its
    newest score on this project's frozen set (a few queries, not one per version)."""
    from allreview.mlmodels.models import ModelStatus
    from allreview.mlmodels.selectors import model_statuses, model_versions_visible
    from allreview.training.models import ModelScore

    scores: dict[int, ModelScore] = {}
    for score in ModelScore.objects.filter(project=project).order_by("created_at"):
        scores[score.model_version_id] = score  # newest wins
    statuses = model_statuses(project=project)
    return [
        {
            "version": version,
            "score": scores.get(version.pk),
            "status": statuses.get(version.pk, ModelStatus.CANDIDATE),
        }
        for version in model_versions_visible(project=project).order_by("-created_at", "-id")
    ]


def compare_defaults(*, project: Project) -> tuple[int | None, int | None]:
    """The pair the compare page opens with: production against the newest other version (two
    different versions), or the two newest when there is no production model."""
    from allreview.mlmodels.selectors import model_version_production, model_versions_visible

    newest = list(
        model_versions_visible(project=project)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)[:2]
    )
    production = model_version_production(project=project)
    if production is not None:
        other = next((pk for pk in newest if pk != production.pk), None)
        return production.pk, other
    if len(newest) == 2:
        return newest[1], newest[0]
    return (newest[0], None) if newest else (None, None)


def patients_by_majority(*, project: Project) -> dict[str, list[str]]:
    """Signed-off patients per class, each counted for the class most of its cells have (what
    the automatic frozen set draws from)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for patient, label in final_labelled_cells(project=project).values_list(
        "patient", "final_label"
    ):
        counts[patient][label] += 1
    by_class: dict[str, list[str]] = {"all": [], "hem": []}
    for patient, labels in counts.items():
        by_class[labels.most_common(1)[0][0]].append(patient)
    return by_class


def evaluation_predictions(*, project: Project, version_id: int) -> tuple[list[int], list[float]]:
    """Targets (final label, 1 = blast) and the version's probabilities on the frozen set."""
    frozen = evaluation_codes(project=project)
    rows = (
        final_labelled_cells(project=project)
        .filter(Q(patient__in=frozen), predictions__model_version_id=version_id)
        .values_list("final_label", "predictions__probability")
    )
    return [1 if label == "all" else 0 for label, _ in rows], [p for _, p in rows]


def changed_calls(*, project: Project, version_a: int, version_b: int) -> list[dict[str, Any]]:
    """Frozen-set cells whose call differs between two versions, with the final label."""
    frozen = evaluation_codes(project=project)
    cells = final_labelled_cells(project=project).filter(Q(patient__in=frozen))
    a = dict(
        Prediction.objects.filter(cell__in=cells, model_version_id=version_a).values_list(
            "cell_id", "label"
        )
    )
    b = Prediction.objects.filter(cell__in=cells, model_version_id=version_b).values_list(
        "cell_id", "label", "probability"
    )
    finals = dict(cells.values_list("pk", "final_label"))
    return [
        {
            "cell_id": cell_id,
            "a": a[cell_id],
            "b": label,
            "b_probability": p,
            "final": finals[cell_id],
        }
        for cell_id, label, p in b
        if cell_id in a and a[cell_id] != label
    ]


def drift_warnings(rows: list[dict[str, Any]], bands: dict[str, float]) -> list[str]:
    """The newest week of each model against the mean of its earlier weeks."""
    warnings = []
    for model in sorted({r["model_version__name"] for r in rows}):
        weeks = [r for r in rows if r["model_version__name"] == model]
        if len(weeks) < 2:
            continue
        latest, earlier = weeks[-1], weeks[:-1]
        for key, band in bands.items():
            values = [r[key] for r in earlier if r[key] is not None]
            if latest[key] is None or not values:
                continue
            baseline = sum(values) / len(values)
            if abs(latest[key] - baseline) > band:
                warnings.append(
                    f"{model}: {key.replace('_', ' ')} {latest[key]:.3f} in the week of "
                    f"{latest['week']:%Y-%m-%d}, against {baseline:.3f} before (band ±{band:.2f})"
                )
    return warnings
