"""The review fixtures (alice lead, dora and erin reviewers, a ten-cell case), plus lena: a lead
who is assigned as a blinded reader."""

from __future__ import annotations

import pytest

from allreview.projects.models import Role
from tests.factories import MembershipFactory, UserFactory
from tests.review.conftest import (  # noqa: F401  (fixtures)
    client_alice,
    client_dora,
    client_erin,
    dora,
    double_read,
    erin,
    login,
    ready_case,
)


@pytest.fixture
def lena(lab_a):
    user = UserFactory(username="lena")
    MembershipFactory(project=lab_a, user=user, role=Role.ADJUDICATOR)
    return user


@pytest.fixture
def client_lena(lena):
    return login(lena)
