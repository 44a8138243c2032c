"""Celery tasks of retraining: primary keys in, one service call. acks_late and the default time
limits are settings; training's own limits are below."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.TRAINING_SOFT_TIME_LIMIT + 300,
)
def training_run_execute(run_id: int) -> None:
    from allreview.training import execution

    execution.training_run_execute(run_id=run_id)


@shared_task
def training_runs_schedule() -> int:
    from allreview.training import runs

    return len(runs.training_runs_schedule())


@shared_task
def training_runs_on_new_labels() -> int:
    from allreview.training import runs

    return len(runs.training_runs_on_new_labels())


@shared_task
def training_runs_reap() -> int:
    from allreview.training import runs

    return runs.training_runs_reap()


@shared_task
def evaluation_rescore(project_id: int) -> int:
    from allreview.projects.models import Project
    from allreview.training import evaluation

    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    return evaluation.evaluation_rescore_all(project=project)
