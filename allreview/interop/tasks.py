"""Celery tasks of interop: primary keys in, one service call. Routed to the `default` queue;
acks_late is a setting (CELERY_TASK_ACKS_LATE), the short time limits are interop's own."""

from __future__ import annotations

from celery import Task, shared_task


@shared_task(bind=True, soft_time_limit=120, time_limit=180, max_retries=None)
def fhir_push_send(self: Task[[int], str | None], push_id: int) -> str | None:
    """One attempt; a failure that has attempts left comes back with its backoff and is retried
    by Celery after that delay (the row says when, so beat's sweep can resend a lost retry)."""
    from allreview.interop import services

    outcome = services.fhir_push_attempt(push_id=push_id)
    if outcome is None:
        return None
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(soft_time_limit=120, time_limit=180)
def fhir_pushes_sweep() -> int:
    from allreview.interop import services

    return len(services.fhir_pushes_schedule())
