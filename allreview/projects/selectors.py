from __future__ import annotations

from typing import TypedDict

from django.db.models import QuerySet

from allreview.lib.users import AnyUser, user_pk
from allreview.projects.models import Membership
from allreview.projects.permissions import ALLOWED, Action


class ProjectIdRow(TypedDict):
    project_id: int


def project_ids_for(
    *, user: AnyUser, action: Action = Action.VIEW
) -> QuerySet[Membership, ProjectIdRow]:
    """Ids of the projects where the user's role allows the action (a subquery, not a list)."""
    if not user.is_authenticated:
        return Membership.objects.none().values("project_id")
    return Membership.objects.filter(user_id=user_pk(user), role__in=ALLOWED[action]).values(
        "project_id"
    )


def membership_role(*, user: AnyUser, project_id: int) -> str | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user_id=user_pk(user), project_id=project_id)
        .values_list("role", flat=True)
        .first()
    )
