"""The case resource hides the read tallies from a blinded reader, not from anyone else."""

from __future__ import annotations

from rest_framework.test import APIClient

from allreview.projects.models import Role
from allreview.review.services.labels import label_set
from allreview.review.services.readers import case_reader_add
from tests.factories import (
    CaseFactory,
    CellFactory,
    MembershipFactory,
    ModelVersionFactory,
    UserFactory,
)


def test_blinded_reader_gets_no_tallies_in_the_case_resource(lab_a, alice):
    case = CaseFactory(project=lab_a)
    cells = CellFactory.create_for_case(
        case, 10, model_version=ModelVersionFactory()
    )  # 5 predicted blasts
    first, second = UserFactory(username="first"), UserFactory(username="second")
    for reader in (first, second):
        MembershipFactory(project=lab_a, user=reader, role=Role.REVIEWER)
        case_reader_add(case=case, user=alice, reader=reader)
    label_set(cell=cells[0], user=first, value="all")

    def case_as(user):
        api = APIClient()
        api.force_authenticate(user)
        return api.get(f"/api/v1/cases/{case.pk}/").json()

    blinded = case_as(second)
    assert blinded["n_reviewed"] is None and blinded["n_predicted_blasts"] is None
    assert blinded["n_cells"] == 10
    assert case_as(first)["n_reviewed"] == 1
    assert case_as(alice)["n_predicted_blasts"] == 5
