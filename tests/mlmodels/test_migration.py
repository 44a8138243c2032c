"""The move to models per project: today's single production model becomes every project's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("mlmodels", "0001_initial")]
AFTER = [("mlmodels", "0003_drop_global_status")]


@pytest.mark.django_db(transaction=True)
def test_every_existing_project_gets_a_deployment_of_the_single_production_model():
    executor = MigrationExecutor(connection)
    others = [key for key in executor.loader.graph.leaf_nodes() if key[0] != "mlmodels"]
    executor.migrate(BEFORE)
    old = executor.loader.project_state(others + BEFORE).apps
    Project = old.get_model("projects", "Project")
    ModelVersion = old.get_model("mlmodels", "ModelVersion")
    TrainingRun = old.get_model("training", "TrainingRun")
    lab_a, lab_b = Project.objects.create(name="A"), Project.objects.create(name="B")
    fields = dict(profile="tiny", architecture="tiny", checkpoint="models/x.pt", sha256="0" * 64)
    production = ModelVersion.objects.create(name="prod", status="production", **fields)
    trained = ModelVersion.objects.create(name="project-a-run", status="candidate", **fields)
    TrainingRun.objects.create(project=lab_a, trigger="manual", profile="tiny", candidate=trained)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(others + AFTER).apps
    Deployment = new.get_model("mlmodels", "Deployment")
    ModelVersion = new.get_model("mlmodels", "ModelVersion")

    deployed = set(Deployment.objects.values_list("project_id", "model_version_id"))
    assert deployed == {(None, production.pk), (lab_a.pk, production.pk), (lab_b.pk, production.pk)}
    assert ModelVersion.objects.get(pk=trained.pk).project_id == lab_a.pk
    assert ModelVersion.objects.get(pk=production.pk).project_id is None  # everyone ran it
