"""Review fixtures: alice is a lead of lab A; dora reviews in lab A; bob is in lab B."""

from __future__ import annotations

import pytest
from django.test import Client

from allreview.cases.models import Case
from allreview.projects.models import Role
from tests.cases.helpers import make_cells, make_model_version
from tests.factories import CaseFactory, MembershipFactory, UserFactory


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_alice(alice) -> Client:
    return login(alice)


@pytest.fixture
def dora(lab_a):
    user = UserFactory(username="dora")
    MembershipFactory(project=lab_a, user=user, role=Role.REVIEWER)
    return user


@pytest.fixture
def client_dora(dora) -> Client:
    return login(dora)


@pytest.fixture
def ready_case(lab_a) -> Case:
    """Ten classified cells: probabilities 0.0..0.9, the last five called blasts."""
    case = CaseFactory(project=lab_a, patient_code="READY-1")
    make_cells(case, 10, model_version=make_model_version("m-ready"))
    case.refresh_from_db()
    return case


def cell_ids(case: Case) -> list[int]:
    return list(case.cells.order_by("id").values_list("id", flat=True))


@pytest.fixture
def erin(lab_a):
    user = UserFactory(username="erin")
    MembershipFactory(project=lab_a, user=user, role=Role.REVIEWER)
    return user


@pytest.fixture
def client_erin(erin) -> Client:
    return login(erin)


@pytest.fixture
def double_read(ready_case, alice, dora, erin) -> Case:
    """READY-1 read by dora (first, sees everything) and erin (second, blinded by default)."""
    from allreview.review.services.readers import case_reader_add

    case_reader_add(case=ready_case, user=alice, reader=dora)
    case_reader_add(case=ready_case, user=alice, reader=erin)
    return ready_case
