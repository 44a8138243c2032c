"""Celery tasks: primary keys in, one service call, nothing else."""

from __future__ import annotations

from celery import shared_task

from allreview.cases import classification


# Time limits: CELERY_TASK_SOFT_TIME_LIMIT / CELERY_TASK_TIME_LIMIT from settings.
@shared_task(acks_late=True)
def case_classify(case_id: int) -> None:
    classification.case_classify(case_id=case_id)


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def cases_classify_waiting() -> int:
    return classification.cases_classify_waiting()


@shared_task(acks_late=True)
def case_reclassify(case_id: int) -> None:
    classification.case_reclassify(case_id=case_id)
