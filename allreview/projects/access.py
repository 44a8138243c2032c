"""The one access rule of AllReview: everything belongs to a project; an outsider gets 404 (not
even a project's existence is confirmed), a member whose role does not allow the action gets 403.

Pages, the API and services all ask here (`cases.access` applies the same rule to cases and
cells); nothing decides access on its own. Role rules live in `permissions.ALLOWED`."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from allreview.lib.users import AnyUser
from allreview.projects.models import Project
from allreview.projects.permissions import Action, role_allows
from allreview.projects.selectors import membership_role, project_ids_for


def require(*, user: AnyUser, project_id: int, action: Action, why: str = "") -> str:
    """The user's role in the project when it allows the action: Http404 for an outsider,
    PermissionDenied (saying `why`, or which action) for a member whose role does not."""
    return require_role(membership_role(user=user, project_id=project_id), action, why)


def require_role(role: str | None, action: Action, why: str = "") -> str:
    """`require` for a role already read (with the row it guards, in one query)."""
    if role is None:
        raise Http404("No such project")
    if not role_allows(role, action):
        raise PermissionDenied(why or f"your role in this project does not allow '{action}'")
    return role


def require_somewhere(*, user: AnyUser, action: Action) -> None:
    """Before anything names a project (an upload before its body is read): 404 for a user of no
    project, 403 for a member whose roles allow the action nowhere."""
    if project_ids_for(user=user, action=action).exists():
        return
    if not project_ids_for(user=user).exists():
        raise Http404("No such project")
    raise PermissionDenied(f"your role does not allow '{action}' in any project")


def project_and_role_for(
    *, user: AnyUser, project_id: int, action: Action = Action.VIEW, why: str = ""
) -> tuple[Project, str]:
    """The project and the user's role in it, for pages that show more to some roles."""
    role = require(user=user, project_id=project_id, action=action, why=why)
    return Project.objects.get(pk=project_id), role


def project_for(
    *, user: AnyUser, project_id: int, action: Action = Action.VIEW, why: str = ""
) -> Project:
    return project_and_role_for(user=user, project_id=project_id, action=action, why=why)[0]


def visible_projects(*, user: AnyUser) -> QuerySet[Project]:
    """The projects the user is a member of: what lists start from."""
    return Project.objects.filter(pk__in=project_ids_for(user=user))


def member_for(*, project_id: int, user_id: int | str) -> User:
    """A member of the project, or 404: ids of other projects' users are not confirmed."""
    pk = int(user_id) if str(user_id).isdigit() else 0
    member = User.objects.filter(pk=pk, memberships__project_id=project_id).first()
    if member is None:
        raise Http404("No such member")
    return member
