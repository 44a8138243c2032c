"""Sending Celery tasks without letting a broker outage undo committed work: the one way every
app sends work.

`enqueue_on_commit` sends once the transaction commits; when Redis is unreachable the rows and
files are already committed, so the send is logged and reported as not done instead of raising (a
500 that would make the caller clean up what it must keep). Beat sweeps pick up what was never
sent (`cases_classify_waiting` for cases, the reaper for training runs); `then` lets the caller
record the outcome (a case shows a notice). `task_send` sends at once, for a caller that must
know the outcome now (the saliency request, the sweeps themselves).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# kombu wraps a transport's connection errors in OperationalError; a socket error that escapes
# the wrapping (e.g. while resolving the host) is an OSError.
BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, OSError)


def task_send(task: Any, *args: int) -> bool:
    """Send `task` with primary-key arguments; False (logged) when the broker refused it.

    Only task names and primary keys are logged, never patient codes or file names.
    """
    try:
        task.delay(*args)
    except BROKER_ERRORS as exc:
        logger.warning(
            "could not queue %s%s: broker unreachable (%s); it is retried later",
            task.name,
            list(args),
            type(exc).__name__,
        )
        return False
    return True


def enqueue_on_commit(task: Any, *args: int, then: Callable[[bool], object] | None = None) -> None:
    """Send `task` once the current transaction commits (at once outside one), then call
    `then(sent)`. `robust`: should anything raise anyway, the commit it follows stands and the
    error is logged, so callers never treat committed work as failed."""

    def send() -> None:
        sent = task_send(task, *args)
        if then is not None:
            then(sent)

    transaction.on_commit(send, robust=True)
