"""The populated project of the permission matrix: one member of every role and an outsider, one
case with a cell, a prediction, the project's own model version and a training run: every object
a route can name, and a segmented smear field holding that cell. A fixture plugin (tests/conftest.py), so any package may ask for `world`."""

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
    field: object = None  # issue 14: a segmented smear field whose first cell is world.cell


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
    field = _segmented_field(case, cell)
    return World(project, case, cell, Prediction.objects.get(cell=cell), version, run, users, field)


def _segmented_field(case, cell):
    """A field of the case with world.cell outlined in it and two more white cells not (yet)."""
    import numpy as np
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from allreview.fields.models import CellProvenance, Field, FieldStatus
    from smear.masks import rle_encode
    from tests.fields.helpers import WHITE_CELLS, drawn_field

    data = drawn_field()
    name = default_storage.save(f"fields/{case.project_id}/{case.pk}/f.jpg", ContentFile(data))
    field = Field.objects.create(
        case=case,
        image=name,
        thumbnail=name,
        sha256="f" * 64,
        size_bytes=len(data),
        width=1000,
        height=750,
        image_format="JPEG",
        original_name="field.jpg",
        status=FieldStatus.DONE,
        cell_diameter=105.0,
        cells_found=1,
    )
    x, y, r = WHITE_CELLS[0]
    yy, xx = np.mgrid[-r:r, -r:r]
    CellProvenance.objects.create(
        cell=cell,
        field=field,
        x0=x - r,
        y0=y - r,
        x1=x + r,
        y1=y + r,
        mask=rle_encode(xx**2 + yy**2 < r * r),
        polygon=[[x - r, y], [x, y - r], [x + r, y]],
        score=0.9,
    )
    return field
