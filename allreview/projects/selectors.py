from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from allreview.projects.models import Membership, Project
from allreview.projects.permissions import ALLOWED, Action

AnyUser = AbstractBaseUser | AnonymousUser


def project_list_for_user(*, user: AnyUser) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user).distinct()


def project_ids_for(*, user: AnyUser, action: Action = Action.VIEW) -> QuerySet[Membership]:
    """Ids of the projects where the user's role allows the action (a subquery, not a list)."""
    if not user.is_authenticated:
        return Membership.objects.none().values("project_id")
    return Membership.objects.filter(user=user, role__in=ALLOWED[action]).values("project_id")


def membership_role(*, user: AnyUser, project_id: int) -> str | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user=user, project_id=project_id)
        .values_list("role", flat=True)
        .first()
    )
