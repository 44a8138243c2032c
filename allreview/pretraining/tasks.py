"""Celery task of pretraining: a primary key in, one service call (routed to `training`)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from allreview.pretraining import services


@shared_task(
    acks_late=True,
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.TRAINING_SOFT_TIME_LIMIT + 300,
)
def pretrain_run_execute(run_id: int) -> None:
    services.pretrain_run_execute(run_id=run_id)
