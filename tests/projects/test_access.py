"""The one access rule: an outsider learns nothing (404, the same for what exists and what does
not), a member whose role does not allow the action is refused (403), the rest get the object."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from allreview.cases.access import case_for, cell_for
from allreview.lib.users import signed_in
from allreview.projects.access import project_for, require
from allreview.projects.models import Role
from allreview.projects.permissions import Action
from tests.factories import CaseFactory, CellFactory, MembershipFactory, UserFactory


@pytest.fixture
def uma(lab_a):
    user = UserFactory(username="uma")
    MembershipFactory(project=lab_a, user=user, role=Role.UPLOADER)
    return user


def test_require_answers_the_role_or_404_or_403(lab_a, alice, uma, charlie):
    assert require(user=alice, project_id=lab_a.pk, action=Action.ADJUDICATE) == Role.ADJUDICATOR
    with pytest.raises(Http404):
        require(user=charlie, project_id=lab_a.pk, action=Action.VIEW)
    with pytest.raises(PermissionDenied, match="only leads"):
        require(user=uma, project_id=lab_a.pk, action=Action.LABEL, why="only leads")
    assert project_for(user=uma, project_id=lab_a.pk) == lab_a


def test_an_outsider_cannot_tell_a_case_that_exists_from_one_that_does_not(lab_a, charlie):
    case = CaseFactory(project=lab_a)
    cell = CellFactory(case=case)
    refusals = []
    for lookup in (
        lambda: case_for(user=charlie, case_id=case.pk),
        lambda: case_for(user=charlie, case_id=case.pk + 1000),
        lambda: cell_for(user=charlie, cell_id=cell.pk),
        lambda: cell_for(user=charlie, cell_id=cell.pk + 1000),
    ):
        with pytest.raises(Http404) as refused:
            lookup()
        refusals.append(str(refused.value))
    assert refusals == ["No such case", "No such case", "No such cell", "No such cell"]


def test_case_for_checks_the_action_after_visibility(lab_a, alice, uma):
    case = CaseFactory(project=lab_a)
    assert case_for(user=uma, case_id=case.pk) == case
    with pytest.raises(PermissionDenied):
        case_for(user=uma, case_id=case.pk, action=Action.LABEL)
    assert case_for(user=alice, case_id=case.pk, action=Action.ADJUDICATE) == case


def test_an_anonymous_user_authors_nothing(alice):
    from django.contrib.auth.models import AnonymousUser

    assert signed_in(alice) == alice
    with pytest.raises(PermissionDenied):
        signed_in(AnonymousUser())
