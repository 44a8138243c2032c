"""Cases and cells under the one access rule (`projects.access`): a case or cell of a project the
user is not a member of is 404, whatever exists; a member whose role does not allow the action
is refused with 403. Every page, API view and service that loads a case or cell for a user
comes through here."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import Expression, QuerySet, Subquery
from django.http import Http404

from allreview.cases.models import Case, Cell, Prediction
from allreview.lib.users import AnyUser
from allreview.projects.access import require, require_role
from allreview.projects.permissions import Action
from allreview.projects.selectors import membership_role_subquery, project_ids_for


def visible_cases(*, user: AnyUser) -> QuerySet[Case]:
    """The cases of the user's projects: where every case list and lookup starts."""
    return Case.objects.filter(project_id__in=project_ids_for(user=user))


def visible_cells(*, user: AnyUser) -> QuerySet[Cell]:
    return Cell.objects.filter(case__project_id__in=project_ids_for(user=user))


def visible_predictions(*, user: AnyUser) -> QuerySet[Prediction]:
    return Prediction.objects.filter(cell__case__project_id__in=project_ids_for(user=user))


def case_for(
    *,
    user: AnyUser,
    case_id: int,
    action: Action = Action.VIEW,
    annotations: Mapping[str, Expression | Subquery] | None = None,
) -> Case:
    """The case with its project and model version: 404 unless the user is a member of its
    project, 403 when their role there does not allow `action`. `annotations` ride along on the
    case's row (what the caller would otherwise ask in further queries)."""
    case = (
        visible_cases(user=user)
        .filter(pk=case_id)
        .select_related("project", "model_version")
        .annotate(**(annotations or {}))
        .first()
    )
    if case is None:
        raise Http404("No such case")
    if action != Action.VIEW:
        require(user=user, project_id=case.project_id, action=action)
    return case


def case_locked_for(
    *,
    user: AnyUser,
    case_id: int,
    action: Action,
    annotations: Mapping[str, Expression | Subquery] | None = None,
) -> tuple[Case, str]:
    """Inside a transaction: the case row-locked, with its project, and the user's role, read in
    one query under the same rule as `case_for` (404 for an outsider, 403 when the role does not
    allow `action`). `annotations` ride along on the same row (a write's other facts), so the
    hottest writes (a relabel) pay one query where a lookup, a role and a lock cost three."""
    case = (
        visible_cases(user=user)
        .filter(pk=case_id)
        .select_for_update(of=("self",))
        .select_related("project")
        .annotate(member_role=membership_role_subquery(user=user), **(annotations or {}))
        .first()
    )
    if case is None:
        raise Http404("No such case")
    role: str | None = getattr(case, "member_role")  # noqa: B009 (an annotation)
    return case, require_role(role, action)


def cell_for(
    *,
    user: AnyUser,
    cell_id: int,
    action: Action = Action.VIEW,
    annotations: Mapping[str, Expression | Subquery] | None = None,
) -> Cell:
    """The cell with its case and project, by the same rule as `case_for`; `annotations` ride
    along on the cell's row (what the caller would otherwise ask in further queries)."""
    cell = (
        visible_cells(user=user)
        .filter(pk=cell_id)
        .select_related("case__project")
        .annotate(**(annotations or {}))
        .first()
    )
    if cell is None:
        raise Http404("No such cell")
    if action != Action.VIEW:
        require(user=user, project_id=cell.case.project_id, action=action)
    return cell
