"""Retraining: request a run (the lock and the skip), execute it, gate the candidate."""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.cases.models import Case, CaseStatus
from allreview.lib.jsonsafe import json_safe
from allreview.lib.storage import local_path
from allreview.mlmodels.models import DeploymentKind, ModelStatus, ModelVersion
from allreview.mlmodels.selectors import (
    model_statuses,
    model_version_production,
    model_versions_visible,
)
from allreview.mlmodels.services import model_version_promote, model_version_register
from allreview.pretraining.selectors import pretrain_backbone_latest
from allreview.projects.models import Project
from allreview.training.gate import gate_decide, gate_figures
from allreview.training.models import (
    ACTIVE_RUN_STATUSES,
    EvaluationPatient,
    RunStatus,
    RunTrigger,
    TrainingPolicy,
    TrainingRun,
)
from allreview.training.scoring import model_version_score
from allreview.training.selectors import (
    LabelledCell,
    cells_digest,
    cells_snapshot,
    evaluation_codes,
    last_finished_run,
    patients_by_majority,
    training_cells,
)
from classifier.errors import SplitError
from classifier.profiles import get_profile

if TYPE_CHECKING:
    from classifier.data import Sample
    from classifier.train import EpochReport

# classifier.data, .splits and .train import torch, timm and torchvision: they are imported inside
# the functions that only the training worker runs, so that the web process (which imports this
# module for the training pages) stays free of the ML stack.

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


def training_run_request(*, project: Project, trigger: str, user: Any = None) -> TrainingRun:
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
            transaction.on_commit(lambda: _enqueue(run.pk))
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


def _enqueue(run_id: int) -> None:
    from allreview.training.tasks import training_run_execute

    training_run_execute.delay(run_id)


def patients_needed_per_class(share: float) -> int:
    """Signed-off patients a class needs before the automatic frozen set takes one of them:
    at least one frozen (share of them, rounded down) and two left for training."""
    if share <= 0:
        return 0
    n = 1
    while math.floor(n * share) < 1 or n - math.floor(n * share) < 2:
        n += 1
        if n > 1000:
            return 0
    return n


def evaluation_set_ensure(*, project: Project, share: float) -> None:
    """Freeze a fixed share of signed-off patients when none was chosen: each patient counts
    for the class most of its cells have, and a class gives patients away only while at least
    two of its patients stay for training (one of them for validation)."""
    if EvaluationPatient.objects.filter(project=project).exists():
        return
    chosen: list[str] = []
    for patients in patients_by_majority(project=project).values():
        count = math.floor(len(patients) * share)
        if count >= 1 and len(patients) - count >= 2:
            # Deterministic: every k-th of the sorted codes.
            chosen += sorted(patients)[:: len(patients) // count][:count]
    if chosen:
        evaluation_patients_add(project=project, patient_codes=sorted(chosen), user=None)


def evaluation_patients_add(*, project: Project, patient_codes: list[str], user: Any) -> int:
    """Add patients to the frozen set (audited); versions are rescored on the new set."""
    known = evaluation_codes(project=project)
    new = [code for code in patient_codes if code not in known]
    if not new:
        return 0
    with transaction.atomic():
        EvaluationPatient.objects.bulk_create(
            [EvaluationPatient(project=project, patient_code=code, added_by=user) for code in new]
        )
        audit_record(
            action="evaluation_set.add",
            actor=user,
            project_id=project.pk,
            after={"patients": new},
        )
        transaction.on_commit(lambda: _rescore(project.pk))
    return len(new)


def _rescore(project_id: int) -> None:
    from allreview.training.tasks import evaluation_rescore

    evaluation_rescore.delay(project_id)


def evaluation_rescore_all(*, project: Project) -> int:
    """Score the project's production model and its candidates (its own and the shared versions
    it has not retired) on the current frozen set."""
    statuses = model_statuses(project=project)
    versions = [
        v
        for v in model_versions_visible(project=project)
        if statuses.get(v.pk) != ModelStatus.RETIRED
    ]
    return sum(model_version_score(version=v, project=project) is not None for v in versions)


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
        _run_log(run_id, f"failed: {type(exc).__name__}: {exc}")
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
        _run_log(run.pk, why)
    output = run_directory(run)
    resume = (output / "last.pt").exists()
    _run_log(
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
    _gate(run, candidate, policy)


def _init_weights(run: TrainingRun, policy: TrainingPolicy) -> Path | None:
    """The weights a run starts from: the project's newest pretrained backbone when the policy
    asks for it and one exists for the profile, else the policy's file (or none)."""
    if policy.init_from_pretrained:
        backbone = pretrain_backbone_latest(project=run.project, profile=policy.profile)
        if backbone is not None:
            _run_log(run.pk, f"starting from pretrained backbone #{backbone.pk} ({backbone.sha256[:12]})")
            return Path(backbone.checkpoint)
        _run_log(run.pk, f"no pretrained {policy.profile} backbone yet; not using one")
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
        _run_log(run.pk, f"candidate {name} was registered by an earlier attempt; reusing it")
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
    _run_log(
        run_id,
        f"epoch {report.epoch}/{report.epochs}: loss {report.train_loss:.4f}, "
        f"val F1 {report.val_weighted_f1:.3f} ({report.seconds:.0f} s)",
    )


def _gate(run: TrainingRun, candidate: ModelVersion, policy: TrainingPolicy) -> None:
    project = run.project
    production = model_version_production(project=project)
    candidate_score = model_version_score(version=candidate, project=project)
    production_score = (
        model_version_score(version=production, project=project) if production else None
    )
    decision = gate_decide(
        candidate=candidate_score.metrics if candidate_score else {},
        production=production_score.metrics if production_score else None,
        sensitivity_floor=policy.sensitivity_floor,
        sensitivity_tolerance=policy.sensitivity_tolerance,
    )
    gate = {
        **decision.as_dict(),
        "production": production.name if production else None,
        "figures": gate_figures(
            candidate_score.metrics if candidate_score else {},
            production_score.metrics if production_score else None,
        ),
    }
    with transaction.atomic():
        if decision.promote:
            _deploy(
                project=project,
                version=candidate,
                actor=None,
                reason="gate passed: " + "; ".join(decision.reasons),
                kind=DeploymentKind.GATE,
                policy=policy,
            )
        TrainingRun.objects.filter(pk=run.pk).update(
            status=RunStatus.SUCCEEDED,
            gate=gate,
            reason="" if decision.promote else "Held as candidate: " + "; ".join(decision.reasons),
            finished_at=timezone.now(),
        )
        audit_record(
            action="training.gate",
            project_id=project.pk,
            target=candidate,
            after=gate,
        )
    _run_log(run.pk, ("promoted: " if decision.promote else "held: ") + "; ".join(decision.reasons))


def _reclassify_open(project_id: int) -> None:
    from allreview.cases.tasks import case_reclassify

    open_cases = Case.objects.filter(
        project_id=project_id, status__in=[CaseStatus.READY, CaseStatus.IN_REVIEW]
    ).values_list("pk", flat=True)
    for case_id in open_cases:
        case_reclassify.delay(case_id)


def _run_log(run_id: int, line: str) -> None:
    stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
    TrainingRun.objects.filter(pk=run_id).update(log=Concat("log", Value(f"{stamp} {line}\n")))


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
                _enqueue(run.pk)
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
    from allreview.training.selectors import new_final_labels_count

    runs = []
    for project in Project.objects.filter(cases__status=CaseStatus.SIGNED_OFF).distinct():
        if new_final_labels_count(project=project) < policy_for(project).min_new_labels:
            continue
        try:
            runs.append(training_run_request(project=project, trigger=RunTrigger.NEW_LABELS))
        except RunRefused as exc:
            logger.info("project %s: %s", project.pk, exc)
    return runs


@transaction.atomic
def model_version_promote_manual(
    *, project: Project, version: ModelVersion, user: Any, reason: str
) -> None:
    """An admin's promotion or rollback in their project, whatever the gate said; the reason is
    required. Only this project's pointer moves."""
    if not reason.strip():
        raise ValueError("a reason is required to promote or roll back by hand")
    _deploy(
        project=project,
        version=version,
        actor=user,
        reason=reason.strip(),
        kind=None,
        policy=policy_for(project),
    )


def _deploy(
    *,
    project: Project,
    version: ModelVersion,
    actor: Any,
    reason: str,
    kind: str | None,
    policy: TrainingPolicy,
) -> None:
    """Every way a project's production model changes (promotion, rollback, the gate) treats
    its open cases alike: reclassified with the new model when the project's policy says so."""
    model_version_promote(version=version, project=project, actor=actor, reason=reason, kind=kind)
    if policy.reclassify_open_cases:
        transaction.on_commit(lambda: _reclassify_open(project.pk))
