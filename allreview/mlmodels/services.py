"""Registering trained checkpoints and moving a project's production pointer."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from allreview.audit.services import audit_record
from allreview.lib.jsonsafe import json_safe
from allreview.lib.users import AnyUser
from allreview.mlmodels.models import Deployment, DeploymentKind, ModelVersion
from allreview.mlmodels.selectors import model_version_production
from allreview.mlmodels.signals import production_model_changed
from allreview.projects.models import Project
from classifier.checkpoint import file_sha256, load_checkpoint


class DeploymentRefused(ValueError):
    """The version may not be deployed there (another project's, or private as a default)."""


def model_version_register(
    *, checkpoint: Path, name: str, notes: str = "", project: Project | None = None
) -> ModelVersion:
    """Copy a checkpoint file into storage as a candidate of the project (or shared when no
    project), with its metadata and sha256. When the row cannot be written (a name taken by a
    concurrent registration) the copied file is removed again: no orphan checkpoint."""
    metadata = checkpoint_metadata(checkpoint)
    version = ModelVersion(
        name=name,
        project=project,
        profile=metadata["profile"]["name"],
        architecture=metadata["profile"]["architecture"],
        sha256=file_sha256(checkpoint),
        threshold=float(metadata.get("threshold", 0.5)),
        initialisation=str(metadata.get("init", "random")),
        metrics=json_safe(metadata.get("metrics", {})),
        training_summary=json_safe(
            {
                "train": metadata.get("data", {}),
                "validation": metadata.get("val_data", {}),
                "history": metadata.get("history", []),
                "best_epoch": metadata.get("best_epoch"),
            }
        ),
        notes=notes,
    )
    with checkpoint.open("rb") as handle:
        version.checkpoint.save(f"{name}.pt", File(handle), save=False)
    try:
        with transaction.atomic():
            version.save()
    except BaseException:
        default_storage.delete(version.checkpoint.name)
        raise
    return version


def checkpoint_metadata(path: Path) -> dict[str, Any]:
    """Everything a checkpoint says about itself, without the weights."""
    data = load_checkpoint(path)
    return {k: v for k, v in data.items() if k not in {"model", "optimizer", "scheduler"}}


@transaction.atomic
def model_version_promote(
    *,
    version: ModelVersion,
    project: Project | None = None,
    actor: AnyUser | None = None,
    reason: str = "",
    kind: str | None = None,
) -> Deployment:
    """Make this version the project's production model; without a project, the installation
    default (shared versions only) for projects that have not deployed their own. No other
    project's pointer moves. A version the project ran before comes back as a rollback.
    Audited with the project; once committed, `production_model_changed` announces it (the
    cases that waited for a model are classified)."""
    if version.project_id is not None and version.project_id != getattr(project, "pk", None):
        raise DeploymentRefused(f"{version.name} belongs to another project")
    if project is not None:
        # One promotion at a time per project: the history stays a line, not a race.
        type(project).objects.select_for_update().filter(pk=project.pk).first()
    previous = model_version_production(project=project)
    if kind is None:
        earlier = Deployment.objects.filter(project=project, model_version=version).exists()
        kind = DeploymentKind.ROLLBACK if earlier else DeploymentKind.PROMOTE
    deployment = Deployment.objects.create(
        project=project,
        model_version=version,
        kind=kind,
        actor=actor if isinstance(actor, User) else None,
        reason=reason,
    )
    audit_record(
        action="model.promote",
        actor=actor,
        project_id=project.pk if project is not None else None,
        target=version,
        before={"production": previous.name if previous else None},
        after={"production": version.name, "reason": reason, "kind": kind},
    )
    announce = partial(
        production_model_changed.send,
        sender=ModelVersion,
        version=version,
        project_id=project.pk if project is not None else None,
    )
    transaction.on_commit(announce, robust=True)
    return deployment
