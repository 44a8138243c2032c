from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from allreview.audit.models import AuditEvent
from allreview.mlmodels.models import ModelStatus, ModelVersion


def test_register_and_promote_a_trained_checkpoint(db, tiny_checkpoint):
    call_command(
        "register_model",
        str(tiny_checkpoint),
        name="cnmc-v1",
        promote=True,
        reason="first real model",
    )
    version = ModelVersion.objects.get(name="cnmc-v1")
    assert version.status == ModelStatus.PRODUCTION and version.profile == "tiny"
    assert AuditEvent.objects.get(action="model.promote").after["reason"] == "first real model"


def test_register_without_promote_gives_a_candidate(db, tiny_checkpoint):
    call_command("register_model", str(tiny_checkpoint), name="cand")
    assert ModelVersion.objects.get(name="cand").status == ModelStatus.CANDIDATE


def test_bad_checkpoint_and_missing_reason_are_clear_errors(db, tiny_checkpoint, tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(CommandError, match="broken.pt"):
        call_command("register_model", str(broken), name="x")
    with pytest.raises(CommandError, match="--reason"):
        call_command("register_model", str(tiny_checkpoint), name="y", promote=True)
    assert ModelVersion.objects.count() == 0
