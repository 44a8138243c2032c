from __future__ import annotations

from typing import TypedDict

from django.db.models import OuterRef, QuerySet, Subquery

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


def membership_role_subquery(*, user: AnyUser, project: str = "project_id") -> Subquery:
    """The user's role in the project an outer row names (its field `project`), as a subquery:
    a lookup that locks or reads a row under the access rule learns the role in the same query."""
    members = Membership.objects.filter(project_id=OuterRef(project))
    members = members.filter(user_id=user_pk(user)) if user.is_authenticated else members.none()
    return Subquery(members.order_by("id").values("role")[:1])


def membership_role(*, user: AnyUser, project_id: int) -> str | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user_id=user_pk(user), project_id=project_id)
        .values_list("role", flat=True)
        .first()
    )
