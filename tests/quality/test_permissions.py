"""The pool's writes need a signed-off case to choose from, so the matrix points here: leads
add and retire, other members get 403 and outsiders 404, and a refusal leaves no trace."""

from __future__ import annotations

import pytest

from allreview.audit.models import AuditEvent
from allreview.quality.models import ReferenceCell
from allreview.quality.services import reference_cells_add
from tests.factories import UserFactory
from tests.quality.helpers import login


@pytest.fixture
def users(qc):
    return {
        "outsider": UserFactory(username="outsider"),
        "uploader": qc.ula,
        "reviewer": qc.dora,
        "adjudicator": qc.alice,
        "admin": qc.ivan,
    }


@pytest.mark.parametrize("who", ["outsider", "uploader", "reviewer", "adjudicator", "admin"])
def test_reference_add(qc, users, who):
    cell = qc.source.cells.order_by("id").first()
    events = AuditEvent.objects.count()
    response = login(users[who]).post(
        f"/projects/{qc.project.pk}/quality/pool/add/", {"cells": [str(cell.pk)]}
    )
    if who in {"adjudicator", "admin"}:
        assert response.status_code == 302 and ReferenceCell.objects.count() == 1
    else:
        assert response.status_code == (404 if who == "outsider" else 403)
        assert not ReferenceCell.objects.exists() and AuditEvent.objects.count() == events


@pytest.mark.parametrize("who", ["outsider", "uploader", "reviewer", "adjudicator", "admin"])
def test_reference_retire(qc, users, who):
    cell = qc.source.cells.order_by("id").first()
    (reference,) = reference_cells_add(project=qc.project, user=qc.alice, cell_ids=[cell.pk])
    url = f"/projects/{qc.project.pk}/quality/pool/{reference.pk}/retire/"
    response = login(users[who]).post(url)
    reference.refresh_from_db()
    if who in {"adjudicator", "admin"}:
        assert response.status_code == 302 and reference.retired_at is not None
    else:
        assert response.status_code == (404 if who == "outsider" else 403)
        assert reference.retired_at is None


def test_a_reference_of_another_project_is_404(qc, lab_b, bob):
    cell = qc.source.cells.order_by("id").first()
    (reference,) = reference_cells_add(project=qc.project, user=qc.alice, cell_ids=[cell.pk])
    response = login(bob).post(f"/projects/{lab_b.pk}/quality/pool/{reference.pk}/retire/")
    assert response.status_code == 404
