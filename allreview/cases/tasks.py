"""Celery tasks: primary keys in, one service call, nothing else. Redelivery after a lost worker
(acks_late) and the time limits are settings (CELERY_TASK_ACKS_LATE, CELERY_TASK_*TIME_LIMIT)."""

from __future__ import annotations

from celery import shared_task


@shared_task
def case_classify(case_id: int) -> None:
    from allreview.cases import classification

    classification.case_classify(case_id=case_id)


@shared_task(soft_time_limit=120, time_limit=180)
def cases_classify_waiting() -> int:
    from allreview.cases import classification

    return classification.cases_classify_waiting()


@shared_task
def case_reclassify(case_id: int) -> None:
    from allreview.cases import classification

    classification.case_reclassify(case_id=case_id)


@shared_task(soft_time_limit=120, time_limit=180)
def cases_reclassify_open(project_id: int) -> int:
    from allreview.cases import services

    return services.cases_reclassify_open(project_id=project_id)
