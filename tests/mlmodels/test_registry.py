from __future__ import annotations

import pytest

from allreview.audit.models import AuditEvent
from allreview.mlmodels.models import ModelStatus, ModelVersion
from allreview.mlmodels.runtime import predictor_for
from allreview.mlmodels.services import model_version_promote, model_version_register


def test_registered_checkpoint_keeps_its_sha256_and_metadata(db, tiny_checkpoint):
    version = model_version_register(checkpoint=tiny_checkpoint, name="v1")
    assert version.status == ModelStatus.CANDIDATE
    assert version.profile == "tiny"
    assert len(version.sha256) == 64
    assert version.training_summary["train"]


def test_promoting_a_version_retires_the_previous_one_and_is_audited(db, tiny_checkpoint):
    first = model_version_register(checkpoint=tiny_checkpoint, name="v1")
    second = model_version_register(checkpoint=tiny_checkpoint, name="v2")
    model_version_promote(version=first)
    model_version_promote(version=second, reason="better")
    statuses = dict(ModelVersion.objects.values_list("name", "status"))
    assert statuses == {"v1": ModelStatus.RETIRED, "v2": ModelStatus.PRODUCTION}
    assert AuditEvent.objects.filter(action="model.promote").count() == 2


def test_worker_refuses_a_checkpoint_whose_file_changed(db, tiny_checkpoint):
    version = model_version_register(checkpoint=tiny_checkpoint, name="v1")
    ModelVersion.objects.filter(pk=version.pk).update(sha256="0" * 64)
    version.refresh_from_db()
    with pytest.raises(RuntimeError, match="does not match"):
        predictor_for(version)


def test_metrics_that_are_not_numbers_are_stored_as_null(db, tiny_checkpoint, tmp_path):
    import torch

    data = torch.load(tiny_checkpoint, weights_only=False)
    data["metrics"] = {"roc_auc": float("nan"), "weighted_f1": 0.5}
    data["history"] = [{"epoch": 1, "val_weighted_f1": float("nan")}]
    path = tmp_path / "nan.pt"
    torch.save(data, path)
    version = model_version_register(checkpoint=path, name="with-nan")
    version.refresh_from_db()
    assert version.metrics == {"roc_auc": None, "weighted_f1": 0.5}
    assert version.training_summary["history"] == [{"epoch": 1, "val_weighted_f1": None}]
