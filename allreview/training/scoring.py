"""Scoring model versions on a project's frozen evaluation set."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from allreview.cases.classification import predictions_store
from allreview.cases.models import Prediction
from allreview.lib.jsonsafe import json_safe
from allreview.mlmodels.models import ModelVersion
from allreview.mlmodels.runtime import predictor_for
from allreview.projects.models import Project
from allreview.training.models import ModelScore
from allreview.training.selectors import cells_digest, evaluation_cells


def model_version_score(*, version: ModelVersion, project: Project) -> ModelScore | None:
    """Metrics of the version on the frozen set as it is now; None when the set is empty.
    Predictions are stored per version, so rescoring after the set grows predicts only the
    new cells, and two versions can be compared cell by cell."""
    cells = evaluation_cells(project=project)
    if not cells:
        return None
    eval_hash = cells_digest(cells)
    existing = ModelScore.objects.filter(
        model_version=version, project=project, eval_hash=eval_hash
    ).first()
    if existing is not None:
        return existing
    # classifier.metrics pulls in torch and scikit-learn: only workers score (the web enqueues).
    from classifier.metrics import compute_metrics

    probabilities = _probabilities(version, cells)
    metrics = compute_metrics(
        [1 if c.label == "all" else 0 for c in cells],
        [probabilities[c.cell_id] for c in cells],
        threshold=version.threshold,
        patients=[c.patient for c in cells],
        flag_threshold=settings.BLAST_FLAG_THRESHOLD,
    )
    score, _ = ModelScore.objects.get_or_create(
        model_version=version,
        project=project,
        eval_hash=eval_hash,
        defaults={
            "n_cells": len(cells),
            "n_patients": len({c.patient for c in cells}),
            "metrics": json_safe({**metrics.scalars(), "confusion": metrics.confusion}),
        },
    )
    return score


def _probabilities(version: ModelVersion, cells: list[Any]) -> dict[int, float]:
    ids = [c.cell_id for c in cells]
    known = Prediction.objects.filter(model_version=version, cell_id__in=ids)
    have = set(known.values_list("cell_id", flat=True))
    missing = [(c.cell_id, c.image) for c in cells if c.cell_id not in have]
    if missing:
        # The runtime checks the checkpoint's sha256 before loading, as for classification.
        predictions_store(predictor=predictor_for(version), model_version=version, cells=missing)
    return dict(
        Prediction.objects.filter(model_version=version, cell_id__in=ids).values_list(
            "cell_id", "probability"
        )
    )


def latest_score(*, version: ModelVersion | None, project: Project) -> ModelScore | None:
    if version is None:
        return None
    return ModelScore.objects.filter(model_version=version, project=project).first()
