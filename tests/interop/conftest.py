"""Interop fixtures: lab A with alice (lead), dora (reviewer, reads the case) and uma (uploader);
bob leads lab B. `signed_case` is ten classified cells labelled by dora and signed off by her."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client
from fhir.resources.R4B.bundle import Bundle

from allreview.cases.models import Case
from allreview.projects.models import Role
from allreview.review.services.readers import case_reader_add
from allreview.review.services.signoff import case_sign_off
from allreview.training.models import ModelScore
from tests.factories import (
    CaseFactory,
    CellFactory,
    MembershipFactory,
    ModelVersionFactory,
    UserFactory,
)
from tests.interop.helpers import CALLS, label_as


@pytest.fixture
def dora(lab_a):
    user = UserFactory(username="dora", first_name="Dora", last_name="Reader")
    MembershipFactory(project=lab_a, user=user, role=Role.REVIEWER)
    return user


@pytest.fixture
def uma(lab_a):
    user = UserFactory(username="uma")
    MembershipFactory(project=lab_a, user=user, role=Role.UPLOADER)
    return user


@pytest.fixture
def open_case(lab_a, alice, dora) -> Case:
    case = CaseFactory(project=lab_a, patient_code="FHIR-0001", specimen_id="SPEC-77")
    version = ModelVersionFactory(name="m-fhir", project=lab_a)
    version.sha256 = "ab" * 32
    version.save()
    CellFactory.create_for_case(case, 10, model_version=version)
    ModelScore.objects.create(
        model_version=version,
        project=lab_a,
        eval_hash="e" * 64,
        n_cells=400,
        n_patients=8,
        metrics={"weighted_f1": 0.87, "sensitivity": 0.91, "specificity": 0.8, "roc_auc": None},
    )
    case_reader_add(case=case, user=alice, reader=dora)
    case.refresh_from_db()
    return case


@pytest.fixture
def signed_case(open_case, dora) -> Case:
    label_as(open_case, dora, CALLS)
    case_sign_off(case=open_case, user=dora)
    open_case.refresh_from_db()
    return open_case


@pytest.fixture
def fetch_bundle() -> Callable[..., dict]:
    def fetch(client: Client, case: Case, query: str = "") -> dict:
        response = client.get(f"/api/v1/cases/{case.pk}/fhir/{query}")
        assert response.status_code == 200, response.content[:300]
        assert response["Content-Type"].startswith("application/fhir+json")
        # validated again on the way in, as a receiving system would
        return json.loads(Bundle.model_validate_json(response.content).model_dump_json())

    return fetch


@pytest.fixture
def admin_a(lab_a):
    user = UserFactory(username="ada")
    MembershipFactory(project=lab_a, user=user, role=Role.ADMIN)
    return user
