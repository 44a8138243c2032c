"""Self-supervised pretraining on a project's own cells, run on the training queue.

A lead asks for it on the training page; a worker learns a backbone (SimCLR, `classifier.pretrain`)
from every uploaded cell of the project, labelled or not, and stores it beside the training runs.
Retraining starts from the newest such backbone when the project's policy says so."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.lib.queueing import enqueue_on_commit
from allreview.lib.storage import local_path
from allreview.lib.users import AnyUser, signed_in
from allreview.pretraining import tasks
from allreview.pretraining.models import ACTIVE_PRETRAIN_STATUSES, PretrainRun, PretrainStatus
from allreview.pretraining.selectors import pretrain_cell_images
from allreview.projects.models import Project

logger = logging.getLogger(__name__)


class PretrainRefused(Exception):
    """Pretraining was not started; the message says why."""


def pretrain_run_request(*, project: Project, profile: str, user: AnyUser) -> PretrainRun:
    """Queue a pretraining of `profile`'s backbone on the project's cells (one at a time). Who
    may ask is the training page's to decide (admins), as for a training run."""
    _release_stale(project)
    n_cells = min(len(pretrain_cell_images(project=project)), settings.PRETRAIN_MAX_CELLS)
    if n_cells < settings.PRETRAIN_MIN_CELLS:
        raise PretrainRefused(
            f"Too few cells to pretrain on: {n_cells} uploaded, at least "
            f"{settings.PRETRAIN_MIN_CELLS} are needed."
        )
    actor = signed_in(user)
    try:
        with transaction.atomic():
            run = PretrainRun.objects.create(
                project=project,
                profile=profile,
                requested_by=actor,
                n_cells=n_cells,
                epochs=settings.PRETRAIN_EPOCHS,
            )
            audit_record(
                action="pretraining.request",
                actor=actor,
                project_id=project.pk,
                target=run,
                after={"profile": profile, "cells": n_cells, "epochs": run.epochs},
            )
            enqueue_on_commit(tasks.pretrain_run_execute, run.pk)
    except IntegrityError as exc:  # the lock: another request won the race
        raise PretrainRefused(
            "a pretraining is already queued or running for this project"
        ) from exc
    return run


def _release_stale(project: Project) -> None:
    """A run whose worker has said nothing for PRETRAIN_STALE_SECONDS is marked failed, so a
    worker that died does not hold the project's lock for ever; so is a run no worker took in
    that time (its message was lost, e.g. the broker was down when it was asked for)."""
    stale = timezone.now() - timedelta(seconds=settings.PRETRAIN_STALE_SECONDS)
    PretrainRun.objects.filter(
        project=project, status=PretrainStatus.RUNNING, updated_at__lt=stale
    ).update(
        status=PretrainStatus.FAILED,
        reason="The worker stopped reporting; ask again.",
        finished_at=timezone.now(),
    )
    PretrainRun.objects.filter(
        project=project, status=PretrainStatus.QUEUED, created_at__lt=stale
    ).update(
        status=PretrainStatus.FAILED,
        reason="No worker took it (was the task queue down?); ask again.",
        finished_at=timezone.now(),
    )
    if PretrainRun.objects.filter(project=project, status__in=ACTIVE_PRETRAIN_STATUSES).exists():
        raise PretrainRefused("a pretraining is already queued or running for this project")


def pretrain_run_claim(*, run_id: int) -> bool:
    now = timezone.now()
    return bool(
        PretrainRun.objects.filter(pk=run_id, status=PretrainStatus.QUEUED).update(
            status=PretrainStatus.RUNNING, started_at=now, updated_at=now
        )
    )


def pretrain_run_execute(*, run_id: int) -> None:
    if not pretrain_run_claim(run_id=run_id):
        logger.info("pretraining run %s is not claimable", run_id)
        return
    run = PretrainRun.objects.select_related("project").get(pk=run_id)
    try:
        _pretrain(run)
    except Exception as exc:
        logger.exception("pretraining run %s failed", run_id)
        PretrainRun.objects.filter(pk=run_id).update(
            status=PretrainStatus.FAILED,
            reason=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )


def pretrain_directory(run: PretrainRun) -> Path:
    return Path(settings.VAR_DIR) / "pretraining" / f"run-{run.pk}"


def _pretrain(run: PretrainRun) -> None:
    from classifier.pretrain import PretrainConfig
    from classifier.pretrain import main as pretrain_main

    names = pretrain_cell_images(project=run.project)[: settings.PRETRAIN_MAX_CELLS]
    cache = Path(settings.VAR_DIR) / "pretraining" / "cache"
    images = [str(local_path(name, cache / name)) for name in names]
    output = pretrain_directory(run) / "backbone.pt"
    output.parent.mkdir(parents=True, exist_ok=True)
    config = PretrainConfig(
        profile=run.profile,
        images=images,
        output=output,
        epochs=run.epochs,
        device=settings.MODEL_DEVICE,
    )
    result = pretrain_main(config, on_epoch=lambda epoch, loss: _on_epoch(run.pk, epoch, loss))
    PretrainRun.objects.filter(pk=run.pk).update(
        status=PretrainStatus.SUCCEEDED,
        n_cells=result.images,
        checkpoint=str(result.output),
        sha256=result.sha256,
        seconds=result.seconds,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def _on_epoch(run_id: int, epoch: int, loss: float) -> None:
    run = PretrainRun.objects.only("losses").get(pk=run_id)
    PretrainRun.objects.filter(pk=run_id).update(
        epoch=epoch, losses=[*run.losses, round(loss, 5)], updated_at=timezone.now()
    )
