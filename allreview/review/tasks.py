"""Celery tasks of the review workspace: primary keys in, one service call."""

from __future__ import annotations

from celery import shared_task


# Routed to the `inference` queue (CELERY_TASK_ROUTES): it needs the model.
@shared_task(soft_time_limit=120, time_limit=180)
def prediction_saliency(prediction_id: int) -> None:
    from allreview.review import saliency

    saliency.prediction_saliency_compute(prediction_id=prediction_id)
