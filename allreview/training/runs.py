"""Training runs: request one (the per-project lock, or a skip that says why), claim it for a
worker, reap the ones whose worker died, and the beat schedulers that request them. Executing a
run is `execution`, judging its candidate is `gate`, the frozen set is `evaluation`."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.cases.models import CaseStatus
from allreview.lib.queueing import enqueue_on_commit, task_send
from allreview.lib.users import AnyUser
from allreview.projects.models import Project
from allreview.training import tasks
from allreview.training.evaluation import evaluation_set_ensure
from allreview.training.models import (
    ACTIVE_RUN_STATUSES,
    RunStatus,
    RunTrigger,
    TrainingPolicy,
    TrainingRun,
)
from allreview.training.selectors import (
    LabelledCell,
    cells_digest,
    last_finished_run,
    new_final_labels_count,
    training_cells,
)

logger = logging.getLogger(__name__)


# Training and validation are split by patient, so a run needs patients on both sides.
MIN_TRAINING_PATIENTS = 2


class RunRefused(Exception):
    """A run was not started; the message says why (already running, nothing new...)."""


def policy_for(project: Project) -> TrainingPolicy:
    policy, _ = TrainingPolicy.objects.get_or_create(
        project=project, defaults={"profile": settings.STARTER_MODEL_PROFILE}
    )
    return policy


def training_run_request(
    *, project: Project, trigger: str, user: AnyUser | None = None
) -> TrainingRun:
    """Queue a run, or record a skipped one when nothing is new. RunRefused while another runs."""
    policy = policy_for(project)
    if TrainingRun.objects.filter(project=project, status__in=ACTIVE_RUN_STATUSES).exists():
        raise RunRefused("a training run is already queued or running for this project")
    evaluation_set_ensure(project=project, share=policy.evaluation_share)
    cells = training_cells(project=project)
    skip = _skip_reason(project, cells)
    actor = user if getattr(user, "is_authenticated", False) else None
    fields = dict(project=project, trigger=trigger, requested_by=actor, profile=policy.profile)
    if skip:
        with transaction.atomic():
            run = TrainingRun.objects.create(**fields, status=RunStatus.SKIPPED, reason=skip)
            if actor is not None:  # someone pressed "Retrain now": the refusal is on record
                audit_record(
                    action="training.skip",
                    actor=actor,
                    project_id=project.pk,
                    target=run,
                    after={"reason": skip},
                )
        return run
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(**fields, status=RunStatus.QUEUED)
            audit_record(action="training.request", actor=actor, project_id=project.pk, target=run)
            enqueue_on_commit(tasks.training_run_execute, run.pk)
    except IntegrityError as exc:  # the lock: another request won the race
        raise RunRefused("a training run is already queued or running for this project") from exc
    return run


def _skip_reason(project: Project, cells: list[LabelledCell]) -> str:
    if not cells:
        return (
            "No training data: no signed-off cell has a final all/hem label outside the frozen set."
        )
    patients = {c.patient for c in cells}
    if len(patients) < MIN_TRAINING_PATIENTS:
        return (
            f"Too few patients to train: {len(patients)} outside the frozen set, at least "
            f"{MIN_TRAINING_PATIENTS} are needed (validation is patient-disjoint)."
        )
    last = last_finished_run(project=project)
    if last is not None and last.data_hash == cells_digest(cells):
        return f"Nothing new since run #{last.pk}: the same {len(cells)} labelled cells."
    return ""


def training_run_claim(*, run_id: int) -> bool:
    """Take a queued run (or a running one whose worker stopped beating) for this worker."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.TRAINING_HEARTBEAT_TIMEOUT)
    claimable = TrainingRun.objects.filter(pk=run_id).filter(
        Q(status=RunStatus.QUEUED) | Q(status=RunStatus.RUNNING, heartbeat_at__lt=stale)
    )
    return bool(
        claimable.update(
            status=RunStatus.RUNNING,
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
        )
    )


def run_log(run_id: int, line: str) -> None:
    stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
    TrainingRun.objects.filter(pk=run_id).update(log=Concat("log", Value(f"{stamp} {line}\n")))


def training_runs_reap() -> int:
    """Runs whose worker stopped beating: queue again to resume (a few times), then fail."""
    stale = timezone.now() - timedelta(seconds=settings.TRAINING_HEARTBEAT_TIMEOUT)
    reaped = 0
    for run in TrainingRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=stale):
        if run.attempts >= settings.TRAINING_MAX_ATTEMPTS:
            updated = TrainingRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                status=RunStatus.FAILED,
                reason=f"The worker stopped {run.attempts} times (last at epoch {run.epoch}).",
                finished_at=timezone.now(),
            )
        else:
            updated = TrainingRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                status=RunStatus.QUEUED,
                reason=f"The worker stopped at epoch {run.epoch}; resuming from the last epoch.",
            )
            if updated:
                task_send(tasks.training_run_execute, run.pk)
        reaped += updated
    return reaped


def training_runs_schedule(*, trigger: str = RunTrigger.SCHEDULE) -> list[TrainingRun]:
    """Beat: request a run for every project with signed-off cases (skips say why)."""
    runs = []
    projects = Project.objects.filter(cases__status=CaseStatus.SIGNED_OFF).distinct()
    for project in projects:
        try:
            runs.append(training_run_request(project=project, trigger=trigger))
        except RunRefused as exc:
            logger.info("project %s: %s", project.pk, exc)
    return runs


def training_runs_on_new_labels() -> list[TrainingRun]:
    """Beat: a run for each project with at least its policy's number of new final labels."""
    runs = []
    for project in Project.objects.filter(cases__status=CaseStatus.SIGNED_OFF).distinct():
        if new_final_labels_count(project=project) < policy_for(project).min_new_labels:
            continue
        try:
            runs.append(training_run_request(project=project, trigger=RunTrigger.NEW_LABELS))
        except RunRefused as exc:
            logger.info("project %s: %s", project.pk, exc)
    return runs
