"""Celery task of pretraining: a primary key in, one service call (routed to `training`).
acks_late is a setting; the time limits are training's."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.TRAINING_SOFT_TIME_LIMIT + 300,
)
def pretrain_run_execute(run_id: int) -> None:
    from allreview.pretraining import services

    services.pretrain_run_execute(run_id=run_id)
