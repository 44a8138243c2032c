"""Classifying a case on a worker: claim it, predict its cells in chunks, store predictions."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connections
from django.db.models import F, Q
from django.utils import timezone

from allreview.cases import hooks
from allreview.cases.models import Case, CaseStatus, Cell, Prediction, lapsed_claim
from allreview.mlmodels.models import Deployment, ModelVersion
from allreview.mlmodels.runtime import predictor_for
from allreview.mlmodels.selectors import model_version_production
from classifier.crops import PreparedCrop

if TYPE_CHECKING:
    from classifier.inference import Predictor

logger = logging.getLogger(__name__)

NO_MODEL_NOTICE = (
    "Waiting for a production model: no model version is in production yet. "
    "The case is classified as soon as one is promoted."
)


def case_claim(*, case_id: int, model_version: ModelVersion) -> datetime | None:
    """Take the case for this worker; returns the claim's time (its token for heartbeats) or None.
    A case classifying under a lapsed lease lost its worker, so it may be taken again; a live
    claim is someone else's work."""
    now = timezone.now()
    claimable = Q(status=CaseStatus.QUEUED) | lapsed_claim(now)
    claimed = Case.objects.filter(claimable, pk=case_id).update(
        status=CaseStatus.CLASSIFYING,
        claimed_at=now,
        heartbeat_at=now,
        model_version=model_version,
        status_detail="",
    )
    return now if claimed else None


def case_claim_renew(*, case_id: int, claimed_at: datetime) -> bool:
    """Extend this worker's lease; False when the claim is no longer ours (taken over, done)."""
    return bool(
        Case.objects.filter(
            pk=case_id, status=CaseStatus.CLASSIFYING, claimed_at=claimed_at
        ).update(heartbeat_at=timezone.now())
    )


def _project_id(case_id: int) -> int | None:
    return Case.objects.filter(pk=case_id).values_list("project_id", flat=True).first()


class _Heartbeat(threading.Thread):
    """Renews a claim every CLASSIFY_HEARTBEAT_SECONDS while the task works, on its own
    database connection; stops when told to or when the claim is lost."""

    def __init__(self, case_id: int, claimed_at: datetime) -> None:
        super().__init__(name=f"claim-heartbeat-{case_id}", daemon=True)
        self.case_id, self.claimed_at = case_id, claimed_at
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.CLASSIFY_HEARTBEAT_SECONDS):
                if not case_claim_renew(case_id=self.case_id, claimed_at=self.claimed_at):
                    logger.warning("case %s: claim lost; heartbeat stops", self.case_id)
                    return
        except Exception:
            logger.exception("case %s: heartbeat failed; the lease will lapse", self.case_id)
        finally:
            connections.close_all()  # this thread's connections only


@contextmanager
def claim_heartbeat(*, case_id: int, claimed_at: datetime) -> Iterator[None]:
    beat = _Heartbeat(case_id, claimed_at)
    beat.start()
    try:
        yield
    finally:
        beat.stopped.set()
        beat.join(timeout=10)


def case_classify(*, case_id: int) -> None:
    """Classify with the production model of the case's own project."""
    project_id = _project_id(case_id)
    if project_id is None:
        logger.info("case %s is gone", case_id)
        return
    if hooks.before_classify(case_id) is not None:  # issue 14: a field is not segmented yet
        logger.info("case %s waits for an earlier step (sent to it)", case_id)
        return
    model_version = model_version_production(project=project_id)
    if model_version is None:
        Case.objects.filter(pk=case_id, status=CaseStatus.QUEUED).update(
            status_detail=NO_MODEL_NOTICE
        )
        logger.info("case %s waits for a production model", case_id)
        return
    claimed_at = case_claim(case_id=case_id, model_version=model_version)
    if claimed_at is None:
        logger.info("case %s is not claimable (already done or in progress)", case_id)
        return
    try:
        with claim_heartbeat(case_id=case_id, claimed_at=claimed_at):
            _predict_missing(case_id=case_id, model_version=model_version)
    except SoftTimeLimitExceeded:
        _case_fail(case_id, "Classification took longer than the time limit; retry it.")
        raise
    except Exception as exc:
        logger.exception("classification of case %s failed", case_id)
        _case_fail(case_id, f"Classification failed: {type(exc).__name__}: {exc}")
        return
    # Only under our own claim: a worker whose lease lapsed and was taken over leaves it be.
    Case.objects.filter(pk=case_id, status=CaseStatus.CLASSIFYING, claimed_at=claimed_at).update(
        status=CaseStatus.READY, classified_at=timezone.now(), progress_done=F("progress_total")
    )
    logger.info("case %s classified with model version %s", case_id, model_version.pk)


def _case_fail(case_id: int, reason: str) -> None:
    Case.objects.filter(pk=case_id).update(status=CaseStatus.FAILED, status_detail=reason)


def _predict_missing(*, case_id: int, model_version: ModelVersion) -> None:
    """Predict the cells that have no prediction by this model yet, chunk by chunk, so a
    redelivered or retried task redoes nothing and the page can show progress."""
    predictor = predictor_for(model_version)
    cells = Cell.objects.filter(case_id=case_id)
    total = cells.count()
    todo = list(cells.exclude(predictions__model_version=model_version).values_list("pk", "image"))
    done = total - len(todo)
    Case.objects.filter(pk=case_id).update(progress_total=total, progress_done=done)

    def progress(count: int) -> None:
        Case.objects.filter(pk=case_id).update(progress_done=done + count)

    predictions_store(
        predictor=predictor, model_version=model_version, cells=todo, on_chunk=progress
    )


def predictions_store(
    *,
    predictor: Predictor,
    model_version: ModelVersion,
    cells: list[tuple[int, str]],
    on_chunk: Callable[[int], None] | None = None,
) -> None:
    """Predict (cell id, image name) pairs in chunks and insert their Prediction rows; a row that
    exists already (unique per cell and model version) is kept as it is."""
    chunk_size = max(1, settings.INFERENCE_CHUNK_CELLS)
    prepared = _prepared_inputs([cell_id for cell_id, _ in cells], predictor)
    for start in range(0, len(cells), chunk_size):
        chunk = cells[start : start + chunk_size]
        results = predictor.predict([_model_source(cell, prepared) for cell in chunk])
        Prediction.objects.bulk_create(
            [
                Prediction(
                    cell_id=cell_id,
                    model_version=model_version,
                    probability=result.probability,
                    label=result.label,
                    uncertainty=result.uncertainty,
                )
                for (cell_id, _), result in zip(chunk, results, strict=True)
            ],
            ignore_conflicts=True,
        )
        if on_chunk is not None:
            on_chunk(start + len(chunk))


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        data: bytes = handle.read()
    return data


def _prepared_inputs(cell_ids: list[int], predictor: Predictor) -> dict[int, str]:
    """The crops written at upload that this model reads as they are (same geometry)."""
    key = predictor.profile.crop_geometry.key
    return dict(
        Cell.objects.filter(pk__in=cell_ids, model_input_geometry=key)
        .exclude(model_input="")
        .values_list("pk", "model_input")
    )


def _model_source(cell: tuple[int, str], prepared: dict[int, str]) -> bytes | PreparedCrop:
    """The cell's prepared crop (no PNG decode of the original), else the original's bytes."""
    cell_id, image = cell
    if cell_id in prepared:
        try:
            return PreparedCrop(_read(prepared[cell_id]))
        except FileNotFoundError:
            logger.warning("cell %s: its prepared crop is missing; using the original", cell_id)
    return _read(image)


def case_reclassify(*, case_id: int) -> None:
    """Add its project's production model's predictions to a case under review (earlier ones
    stay) and show them, as newly classified; its review status is not touched."""
    open_statuses = [CaseStatus.READY, CaseStatus.IN_REVIEW]
    case = Case.objects.filter(pk=case_id, status__in=open_statuses).first()
    if case is None:
        return
    model_version = model_version_production(project=case.project_id)
    if model_version is None or case.model_version_id == model_version.pk:
        return
    todo = list(
        Cell.objects.filter(case_id=case_id)
        .exclude(predictions__model_version=model_version)
        .values_list("pk", "image")
    )
    predictions_store(
        predictor=predictor_for(model_version), model_version=model_version, cells=todo
    )
    Case.objects.filter(pk=case_id, status__in=open_statuses).update(
        model_version=model_version, classified_at=timezone.now()
    )


def cases_classify_waiting() -> int:
    """Queue again the cases that waited for a model, were never sent (the broker was down),
    whose message may be lost (queued long ago) or whose claim's lease lapsed (dead worker). Returns how many. Fresh queued cases are left alone: their
    message is in the queue, and a second one would only be skipped by the claim."""
    from allreview.cases.services import case_enqueue

    with_model = _projects_with_a_model()
    if with_model is not None and not with_model:
        return 0
    now = timezone.now()
    lost_message = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    waiting = Case.objects.filter(
        Q(status=CaseStatus.QUEUED, status_detail=NO_MODEL_NOTICE)
        | Q(status=CaseStatus.QUEUED, enqueued_at__lt=lost_message)
        | Q(status=CaseStatus.QUEUED, enqueued_at__isnull=True)  # never sent (broker was down)
        | lapsed_claim(now)
    )
    if with_model is not None:  # cases wait per project: only those whose project has a model
        waiting = waiting.filter(project_id__in=with_model)
    ids = list(waiting.values_list("pk", flat=True))
    Case.objects.filter(pk__in=ids, status_detail=NO_MODEL_NOTICE).update(status_detail="")
    for case_id in ids:
        case_enqueue(case_id=case_id)
    return len(ids)


def _projects_with_a_model() -> set[int] | None:
    """Projects that have a production model: None means all of them (an installation default
    serves every project without a deployment of its own)."""
    if model_version_production() is not None:
        return None
    return set(
        Deployment.objects.filter(project__isnull=False).values_list("project_id", flat=True)
    )
