"""Registering trained checkpoints and choosing the production model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.lib.jsonsafe import json_safe
from allreview.mlmodels.models import ModelStatus, ModelVersion
from classifier.checkpoint import file_sha256, load_checkpoint


def model_version_register(*, checkpoint: Path, name: str, notes: str = "") -> ModelVersion:
    """Copy a checkpoint file into storage as a candidate, with its metadata and sha256."""
    metadata = checkpoint_metadata(checkpoint)
    with checkpoint.open("rb") as handle:
        version = ModelVersion(
            name=name,
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
        version.checkpoint.save(f"{name}.pt", File(handle), save=False)
    version.save()
    return version


def checkpoint_metadata(path: Path) -> dict[str, Any]:
    """Everything a checkpoint says about itself, without the weights."""
    data = load_checkpoint(path)
    return {k: v for k, v in data.items() if k not in {"model", "optimizer", "scheduler"}}


@transaction.atomic
def model_version_promote(*, version: ModelVersion, actor: Any = None, reason: str = "") -> None:
    """Make this version production (the old one is retired) and classify the cases that waited."""
    previous = (
        ModelVersion.objects.select_for_update().filter(status=ModelStatus.PRODUCTION).first()
    )
    if previous is not None and previous.pk != version.pk:
        ModelVersion.objects.filter(pk=previous.pk).update(status=ModelStatus.RETIRED)
    ModelVersion.objects.filter(pk=version.pk).update(
        status=ModelStatus.PRODUCTION, promoted_at=timezone.now()
    )
    audit_record(
        action="model.promote",
        actor=actor,
        target=version,
        before={"production": previous.name if previous else None},
        after={"production": version.name, "reason": reason},
    )
    transaction.on_commit(_classify_waiting_cases)


def _classify_waiting_cases() -> None:
    from allreview.cases.tasks import cases_classify_waiting

    cases_classify_waiting.delay()
