"""Fields under the one access rule (`projects.access`, as `cases.access` for cases and cells):
a field of a project the user is not a member of is 404, whatever exists; a member whose role
does not allow the action is refused with 403."""

from __future__ import annotations

from django.http import Http404

from allreview.fields.models import Field
from allreview.lib.users import AnyUser
from allreview.projects.access import require
from allreview.projects.permissions import Action
from allreview.projects.selectors import project_ids_for


def field_for(*, user: AnyUser, field_id: int, action: Action = Action.VIEW) -> Field:
    """The field with its case, the case's project and model version."""
    field = (
        Field.objects.filter(pk=field_id, case__project_id__in=project_ids_for(user=user))
        .select_related("case__project", "case__model_version")
        .first()
    )
    if field is None:
        raise Http404("No such field")
    if action != Action.VIEW:
        require(user=user, project_id=field.case.project_id, action=action)
    return field
