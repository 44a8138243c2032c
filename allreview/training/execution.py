"""Executing a claimed training run on the training worker: train (resuming from the last epoch),
beat while training, register the candidate and hand it to the gate.

classifier.data, .splits and .train import torch, timm and torchvision: they are imported inside
the functions that only the training worker runs, so that the web process stays free of the ML
stack."""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from allreview.lib.jsonsafe import json_safe
from allreview.lib.storage import local_path
from allreview.mlmodels.models import ModelVersion
from allreview.mlmodels.services import model_version_register
from allreview.pretraining.selectors import pretrain_backbone_latest
from allreview.training.gate import run_gate
from allreview.training.models import RunStatus, TrainingPolicy, TrainingRun
from allreview.training.runs import policy_for, run_log, training_run_claim
from allreview.training.selectors import LabelledCell, cells_snapshot, training_cells
from classifier.errors import SplitError
from classifier.profiles import get_profile

if TYPE_CHECKING:
    from classifier.data import Sample
    from classifier.train import EpochReport

logger = logging.getLogger(__name__)


def training_run_execute(*, run_id: int) -> None:
    if not training_run_claim(run_id=run_id):
        logger.info("training run %s is not claimable", run_id)
        return
    run = TrainingRun.objects.select_related("project").get(pk=run_id)
    beat = _Heartbeat(run_id)
    beat.start()
    try:
        _train_and_gate(run)
    except Exception as exc:
        logger.exception("training run %s failed", run_id)
        run_log(run_id, f"failed: {type(exc).__name__}: {exc}")
        TrainingRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED,
            reason=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
    finally:
        beat.stop()


def run_directory(run: TrainingRun) -> Path:
    return Path(settings.VAR_DIR) / "training" / f"run-{run.pk}"


def _train_and_gate(run: TrainingRun) -> None:
    from classifier.train import TrainConfig
    from classifier.train import main as train_main

    project = run.project
    policy = policy_for(project)
    cells = training_cells(project=project)
    snapshot = cells_snapshot(cells)
    TrainingRun.objects.filter(pk=run.pk).update(data_snapshot=snapshot, data_hash=snapshot["hash"])
    samples = _samples(cells, policy)
    seed = run_seed(cells)
    train, val, why = _train_validation(samples, policy.profile, seed)
    if why:
        run_log(run.pk, why)
    output = run_directory(run)
    resume = (output / "last.pt").exists()
    run_log(
        run.pk,
        f"{'resuming' if resume else 'training'} {policy.profile} on {len(train)} cells, "
        f"validating on {len(val)} ({len({s.patient for s in val})} patients)",
    )
    config = TrainConfig(
        profile=policy.profile,
        train=train,
        val=val,
        output=output,
        init=_init_weights(run, policy),
        epochs=policy.epochs,
        seed=seed,
        device=settings.MODEL_DEVICE,
        resume=resume,
    )
    result = train_main(config, on_epoch=lambda report: _on_epoch(run.pk, report))
    candidate = _candidate_register(run, result.checkpoint, len(train))
    TrainingRun.objects.filter(pk=run.pk).update(candidate=candidate)
    run_gate(run, candidate, policy)


def _init_weights(run: TrainingRun, policy: TrainingPolicy) -> Path | None:
    """The weights a run starts from: the project's newest pretrained backbone when the policy
    asks for it and one exists for the profile, else the policy's file (or none)."""
    if policy.init_from_pretrained:
        backbone = pretrain_backbone_latest(project=run.project, profile=policy.profile)
        if backbone is not None:
            run_log(
                run.pk, f"starting from pretrained backbone #{backbone.pk} ({backbone.sha256[:12]})"
            )
            return Path(backbone.checkpoint)
        run_log(run.pk, f"no pretrained {policy.profile} backbone yet; not using one")
    return Path(policy.init_checkpoint) if policy.init_checkpoint else None


def _train_validation(
    samples: list[Sample], profile: str, seed: int
) -> tuple[list[Sample], list[Sample], str]:
    """A fixed-epoch recipe (select "last") trains on every patient: cross-validation chose its
    epochs and calibration, and the frozen set judges it. A profile that picks its best epoch
    holds out a class-stratified fifth of the patients, or trains on all (keeping the last
    epoch) when a class has too few patients to give both sides one."""
    from classifier.splits import patient_split

    if get_profile(profile).select == "last":
        return samples, [], ""
    try:
        train, val = patient_split(samples, val_fraction=0.2, seed=seed)
    except SplitError as exc:
        return samples, [], f"no validation patients ({exc}); training on all, last epoch kept"
    return train, val, ""


def _candidate_register(run: TrainingRun, checkpoint: Path, n_train: int) -> ModelVersion:
    """The run's candidate, registered once: a run retried after registering (its worker died
    before the gate) takes the version it registered instead of failing on the name."""
    name = f"project{run.project_id}-run{run.pk}"
    existing = ModelVersion.objects.filter(name=name, project_id=run.project_id).first()
    if existing is not None:
        run_log(run.pk, f"candidate {name} was registered by an earlier attempt; reusing it")
        return existing
    return model_version_register(
        checkpoint=checkpoint,
        name=name,
        project=run.project,
        notes=f"Trained by run #{run.pk} ({run.get_trigger_display()}) on {n_train} cells.",
    )


def run_seed(cells: list[LabelledCell]) -> int:
    """The same labelled images give the same split and weights, whatever their row ids: a run
    can be reproduced (the stored file name is the image's sha256)."""
    keys = sorted(f"{PurePosixPath(c.image).name}:{c.label}" for c in cells)
    return int(hashlib.sha256("\n".join(keys).encode()).hexdigest()[:8], 16)


def _samples(cells: list[LabelledCell], policy: TrainingPolicy) -> list[Sample]:
    from classifier.data import Sample, samples_from_cnmc_folder

    samples = [Sample(str(_local_image(c.image)), c.label, c.patient) for c in cells]
    if policy.base_dataset:
        base = samples_from_cnmc_folder(policy.base_dataset)
        samples += [Sample(s.path, s.label, f"base:{s.patient}") for s in base]
    return samples


def _local_image(name: str) -> Path:
    return local_path(name, Path(settings.VAR_DIR) / "training" / "cache" / name)


def _on_epoch(run_id: int, report: EpochReport) -> None:
    point = json_safe(
        {
            "epoch": report.epoch,
            "train_loss": report.train_loss,
            "val_loss": report.val_loss,
            "val_weighted_f1": report.val_weighted_f1,
            "val_roc_auc": report.val_roc_auc,
            "seconds": report.seconds,
        }
    )
    run = TrainingRun.objects.get(pk=run_id)
    history = [h for h in run.history if h.get("epoch") != report.epoch] + [point]
    TrainingRun.objects.filter(pk=run_id).update(
        epoch=report.epoch, epochs=report.epochs, history=history, heartbeat_at=timezone.now()
    )
    run_log(
        run_id,
        f"epoch {report.epoch}/{report.epochs}: loss {report.train_loss:.4f}, "
        f"val F1 {report.val_weighted_f1:.3f} ({report.seconds:.0f} s)",
    )


class _Heartbeat:
    """Beats every few seconds while the run trains; a worker that dies stops beating, and the
    reaper then hands the run to another worker, which resumes from the last epoch."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        from django.db import connection

        try:
            while not self._stop.wait(settings.TRAINING_HEARTBEAT_SECONDS):
                TrainingRun.objects.filter(pk=self.run_id, status=RunStatus.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()
