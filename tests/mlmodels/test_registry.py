from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError

from allreview.audit.models import AuditEvent
from allreview.mlmodels import runtime
from allreview.mlmodels.models import Deployment, DeploymentKind, ModelStatus, ModelVersion
from allreview.mlmodels.runtime import predictor_for
from allreview.mlmodels.selectors import model_statuses, model_version_production
from allreview.mlmodels.services import (
    DeploymentRefused,
    model_version_promote,
    model_version_register,
)
from tests.factories import ModelVersionFactory


def test_registered_checkpoint_keeps_its_sha256_and_metadata(db, tiny_checkpoint):
    version = model_version_register(checkpoint=tiny_checkpoint, name="v1")
    assert version.is_shared and version.deployments.count() == 0
    assert version.profile == "tiny"
    assert len(version.sha256) == 64
    assert version.training_summary["train"]


def test_a_registration_that_fails_on_the_name_leaves_no_orphan_checkpoint(db, tiny_checkpoint):
    model_version_register(checkpoint=tiny_checkpoint, name="v1")
    with pytest.raises(IntegrityError):
        model_version_register(checkpoint=tiny_checkpoint, name="v1")
    assert default_storage.listdir("models")[1] == ["v1.pt"]


def test_promoting_in_one_project_moves_only_its_pointer_and_is_audited_there(db, lab_a, lab_b):
    shared = ModelVersionFactory(name="shared")
    own_a = ModelVersionFactory(name="a-own", project=lab_a)
    model_version_promote(version=shared, reason="default")
    model_version_promote(version=own_a, project=lab_a, reason="better on our stain")
    assert model_version_production(project=lab_a) == own_a
    assert model_version_production(project=lab_b) == shared  # still the default
    event = AuditEvent.objects.filter(action="model.promote").first()
    assert event.project == lab_a and event.after["reason"] == "better on our stain"
    assert model_statuses(project=lab_a) == {own_a.pk: ModelStatus.PRODUCTION}


def test_going_back_to_an_earlier_version_is_a_rollback_in_the_history(db, lab_a):
    old, new = (
        ModelVersionFactory(name="old", project=lab_a),
        ModelVersionFactory(name="new", project=lab_a),
    )
    for version in (old, new, old):
        model_version_promote(version=version, project=lab_a, reason="r")
    kinds = list(Deployment.objects.filter(project=lab_a).order_by("id").values_list("kind"))
    assert kinds == [
        (DeploymentKind.PROMOTE,),
        (DeploymentKind.PROMOTE,),
        (DeploymentKind.ROLLBACK,),
    ]
    assert model_statuses(project=lab_a) == {
        old.pk: ModelStatus.PRODUCTION,
        new.pk: ModelStatus.RETIRED,
    }


def test_another_projects_version_cannot_be_deployed_nor_made_the_default(db, lab_a, lab_b):
    own_a = ModelVersionFactory(name="a-own", project=lab_a)
    with pytest.raises(DeploymentRefused):
        model_version_promote(version=own_a, project=lab_b, reason="x")
    with pytest.raises(DeploymentRefused):
        model_version_promote(version=own_a, reason="x")
    assert Deployment.objects.count() == 0


def test_deployments_are_append_only_in_the_database(db, lab_a):
    from django.db import connection, transaction

    model_version_promote(version=ModelVersionFactory(name="m"), project=lab_a, reason="r")
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE mlmodels_deployment SET reason = 'rewritten'")


def test_worker_refuses_a_checkpoint_whose_file_changed(db, tiny_checkpoint):
    version = model_version_register(checkpoint=tiny_checkpoint, name="v1")
    ModelVersion.objects.filter(pk=version.pk).update(sha256="0" * 64)
    version.refresh_from_db()
    with pytest.raises(RuntimeError, match="does not match"):
        predictor_for(version)


@pytest.fixture
def fake_loading(monkeypatch, settings):
    """Loading without weights: the cache's bookkeeping is the subject here."""
    settings.MODEL_CACHE_SIZE = 2
    runtime.cache_clear()
    monkeypatch.setattr(runtime, "checkpoint_local_path", lambda version: version.sha256)
    monkeypatch.setattr(runtime, "file_sha256", lambda path: path)
    monkeypatch.setattr(runtime, "_load", lambda path: object())
    yield
    runtime.cache_clear()


def _version(name: str, digit: str, project=None) -> ModelVersion:
    version = ModelVersionFactory(name=name, project=project)
    ModelVersion.objects.filter(pk=version.pk).update(sha256=digit * 64)
    version.refresh_from_db()
    return version


def test_workers_keep_several_models_and_saliency_on_old_ones_keeps_production(
    db, lab_a, lab_b, fake_loading
):
    prod_a, prod_b = _version("pa", "a", lab_a), _version("pb", "b", lab_b)
    old_1, old_2 = _version("o1", "1", lab_a), _version("o2", "2", lab_a)
    model_version_promote(version=prod_a, project=lab_a, reason="r")
    predictor = predictor_for(prod_a)
    assert predictor_for(prod_a) is predictor  # cached, not loaded again
    predictor_for(old_1)  # e.g. a saliency map of a cell classified by an old version
    predictor_for(old_2)  # production is least recently used now, yet an old one goes
    assert runtime.is_loaded(prod_a) and not runtime.is_loaded(old_1)
    assert predictor_for(prod_a) is predictor
    model_version_promote(version=prod_b, project=lab_b, reason="r")
    predictor_for(prod_b)  # two projects' production models fill the cache
    assert runtime.is_loaded(prod_a) and runtime.is_loaded(prod_b)


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
