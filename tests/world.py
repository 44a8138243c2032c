"""The populated project of the permission matrix: one member of every role and an outsider, one
case with a cell, a prediction, the project's own model version and a training run: every object
a route can name. A fixture plugin (tests/conftest.py), so any package may ask for `world`."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, CaseStatus, Prediction
from allreview.cases.services import case_upload
from allreview.projects.models import Role
from classifier.synthetic import make_cell
from tests.factories import (
    MembershipFactory,
    ModelVersionFactory,
    PredictionFactory,
    ProjectFactory,
    TrainingRunFactory,
    UserFactory,
)
from tests.helpers import encode


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
    version = ModelVersionFactory(name="matrix-model", project=project)  # the project's own
    case = case_upload(
        project=project,
        user=users["admin"],
        patient_code="MX-1",
        files=[IncomingFile("a.png", encode(make_cell("all", 1), "PNG"))],
    )
    cell = case.cells.get()
    PredictionFactory(
        cell=cell, model_version=version, probability=0.9, label="all", uncertainty=0.01
    )
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.READY, model_version=version)
    case.refresh_from_db()
    run = TrainingRunFactory(project=project, trigger="manual", profile="tiny", status="skipped")
    return World(project, case, cell, Prediction.objects.get(cell=cell), version, run, users)
