"""A project with one member of every role, one case with a cell, a prediction, a model version
and a training run: every object a route can name."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, CaseStatus, Prediction
from allreview.cases.services import case_upload
from allreview.projects.models import Role
from allreview.training.models import TrainingRun
from classifier.synthetic import make_cell
from tests.cases.helpers import make_model_version
from tests.conftest import encode
from tests.factories import MembershipFactory, ProjectFactory, UserFactory


@dataclass
class World:
    project: object
    case: object
    cell: object
    prediction: object
    version: object
    run: object
    users: dict


@pytest.fixture
def world(db) -> World:
    project = ProjectFactory(name="Matrix lab")
    users = {"outsider": UserFactory(username="outsider")}
    for role in Role.values:
        users[role] = UserFactory(username=role)
        MembershipFactory(project=project, user=users[role], role=role)
    version = make_model_version("matrix-model", project=project)  # the project's own
    case = case_upload(
        project=project,
        user=users["admin"],
        patient_code="MX-1",
        files=[IncomingFile("a.png", encode(make_cell("all", 1), "PNG"))],
    )
    cell = case.cells.get()
    Prediction.objects.create(
        cell=cell, model_version=version, probability=0.9, label="all", uncertainty=0.01
    )
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.READY, model_version=version)
    case.refresh_from_db()
    run = TrainingRun.objects.create(
        project=project, trigger="manual", profile="tiny", status="skipped"
    )
    return World(project, case, cell, Prediction.objects.get(cell=cell), version, run, users)


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Writes that queue work (retry, retrain, saliency) must not need a worker here."""
    monkeypatch.setattr("celery.app.task.Task.delay", lambda self, *a, **k: None)
