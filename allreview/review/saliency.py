"""Grad-CAM overlays on demand: requested by the cell view, computed once by a worker, cached in
Prediction.saliency."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from allreview.cases.models import Prediction
from allreview.lib.queueing import task_send
from allreview.review import tasks

logger = logging.getLogger(__name__)

# A request enqueues at most once in this window; polling in between only reads the row.
REQUEST_GUARD_SECONDS = 300


QUEUE_UNREACHABLE = (
    "the task queue is unreachable right now, so the overlay cannot be computed; "
    "try again in a minute"
)


@dataclass(frozen=True)
class SaliencyState:
    status: str  # "ready", "pending", "unavailable" or "retry" (the broker is down)
    name: str = ""
    detail: str = ""


def saliency_name(prediction: Prediction) -> str:
    cell = prediction.cell
    return (
        f"saliency/{cell.case.project_id}/{cell.case_id}/"
        f"{cell.sha256}.m{prediction.model_version_id}.png"
    )


def saliency_request(*, prediction: Prediction | None) -> SaliencyState:
    """Report the overlay, or queue its computation (once per guard window)."""
    if prediction is None:
        return SaliencyState("unavailable")
    if prediction.saliency:
        return SaliencyState("ready", prediction.saliency.name)
    guard = f"saliency-requested:{prediction.pk}"
    # Sent now, not on commit: the request writes nothing, and the caller must know the outcome.
    if cache.add(guard, 1, REQUEST_GUARD_SECONDS) and not saliency_enqueue(
        prediction_id=prediction.pk
    ):
        cache.delete(guard)  # nothing was queued: the next request must try again
        return SaliencyState("retry", detail=QUEUE_UNREACHABLE)
    return SaliencyState("pending")


def saliency_enqueue(*, prediction_id: int) -> bool:
    return task_send(tasks.prediction_saliency, prediction_id)


def prediction_saliency_compute(*, prediction_id: int) -> str | None:
    """Compute and store the overlay; a second call (or a redelivered task) does nothing."""
    prediction = (
        Prediction.objects.filter(pk=prediction_id)
        .select_related("cell__case", "model_version")
        .first()
    )
    if prediction is None:
        logger.info("prediction %s is gone; no saliency", prediction_id)
        return None
    if prediction.saliency:
        return str(prediction.saliency.name)
    name = saliency_name(prediction)
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(_overlay_png(prediction)))
    # Conditional update: when two workers raced, the first stored name wins and stays.
    Prediction.objects.filter(pk=prediction.pk, saliency="").update(saliency=name)
    return str(Prediction.objects.values_list("saliency", flat=True).get(pk=prediction.pk))


def _overlay_png(prediction: Prediction) -> bytes:
    from allreview.mlmodels.runtime import predictor_for
    from classifier.saliency import saliency_png

    with default_storage.open(prediction.cell.image.name, "rb") as handle:
        data = handle.read()
    # Explain the class the stored prediction shows, not a fresh prediction.
    return saliency_png(predictor_for(prediction.model_version), data, target=prediction.label)
