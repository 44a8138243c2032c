"""Besides the shared fixtures (alice lead, dora and erin reviewers, a ten-cell case): lena, a lead
who is assigned as a blinded reader."""

from __future__ import annotations

import pytest

from allreview.projects.models import Role
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import login


@pytest.fixture
def lena(lab_a):
    user = UserFactory(username="lena")
    MembershipFactory(project=lab_a, user=user, role=Role.ADJUDICATOR)
    return user


@pytest.fixture
def client_lena(lena):
    return login(lena)
