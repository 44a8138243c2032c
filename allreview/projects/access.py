"""One rule for project pages: outsiders get 404 (a project's existence is not leaked), members
whose role does not allow the action get 403."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from allreview.projects.models import Project
from allreview.projects.permissions import Action, role_allows
from allreview.projects.selectors import membership_role


def project_and_role_for(
    *, user: Any, project_id: int, action: Action = Action.VIEW
) -> tuple[Project, str]:
    """The project and the user's role in it, for pages that show more to some roles."""
    role = membership_role(user=user, project_id=project_id)
    if role is None:
        raise Http404("No such project")
    if not role_allows(role, action):
        raise PermissionDenied(f"your role in this project does not allow '{action}'")
    return Project.objects.get(pk=project_id), role


def project_for(*, user: Any, project_id: int, action: Action = Action.VIEW) -> Project:
    return project_and_role_for(user=user, project_id=project_id, action=action)[0]
