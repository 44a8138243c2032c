from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from allreview.audit.models import AuditEvent
from allreview.mlmodels.models import ModelVersion
from allreview.mlmodels.selectors import model_version_production


def test_register_and_promote_a_trained_checkpoint_as_the_shared_default(
    db, tiny_checkpoint, lab_a
):
    call_command(
        "register_model",
        str(tiny_checkpoint),
        name="cnmc-v1",
        promote=True,
        reason="first real model",
    )
    version = ModelVersion.objects.get(name="cnmc-v1")
    assert version.is_shared and version.profile == "tiny"
    assert model_version_production() == version  # the installation default
    assert model_version_production(project=lab_a) == version  # lab A deployed none of its own
    assert AuditEvent.objects.get(action="model.promote").after["reason"] == "first real model"


def test_register_for_a_project_makes_it_that_projects_own(db, tiny_checkpoint, lab_a, lab_b):
    call_command(
        "register_model",
        str(tiny_checkpoint),
        name="lab-a-v1",
        project=lab_a.pk,
        promote=True,
        reason="lab A's model",
    )
    version = ModelVersion.objects.get(name="lab-a-v1")
    assert version.project == lab_a
    assert model_version_production(project=lab_a) == version
    assert model_version_production(project=lab_b) is None
    assert AuditEvent.objects.get(action="model.promote").project == lab_a


def test_register_without_promote_gives_a_candidate(db, tiny_checkpoint):
    call_command("register_model", str(tiny_checkpoint), name="cand")
    assert ModelVersion.objects.get(name="cand").deployments.count() == 0
    assert model_version_production() is None


def test_bad_checkpoint_missing_reason_and_unknown_project_are_clear_errors(
    db, tiny_checkpoint, tmp_path
):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(CommandError, match="broken.pt"):
        call_command("register_model", str(broken), name="x")
    with pytest.raises(CommandError, match="--reason"):
        call_command("register_model", str(tiny_checkpoint), name="y", promote=True)
    with pytest.raises(CommandError, match="no project with id 999999"):
        call_command("register_model", str(tiny_checkpoint), name="z", project=999999)
    assert ModelVersion.objects.count() == 0
