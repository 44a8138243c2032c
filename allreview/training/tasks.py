"""Celery tasks of retraining: primary keys in, one service call."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from allreview.projects.models import Project
from allreview.training import services


@shared_task(
    acks_late=True,
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.TRAINING_SOFT_TIME_LIMIT + 300,
)
def training_run_execute(run_id: int) -> None:
    services.training_run_execute(run_id=run_id)


@shared_task(acks_late=True)
def training_runs_schedule() -> int:
    return len(services.training_runs_schedule())


@shared_task(acks_late=True)
def training_runs_on_new_labels() -> int:
    return len(services.training_runs_on_new_labels())


@shared_task(acks_late=True)
def training_runs_reap() -> int:
    return services.training_runs_reap()


@shared_task(acks_late=True)
def evaluation_rescore(project_id: int) -> int:
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    return services.evaluation_rescore_all(project=project)
