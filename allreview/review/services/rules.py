"""What every review write checks first: the case row lock, and for some a lead."""

from __future__ import annotations

from allreview.cases.models import Case
from allreview.lib.users import AnyUser
from allreview.projects.access import require
from allreview.projects.permissions import Action


def require_lead(*, user: AnyUser, project_id: int, what: str) -> None:
    why = f"only an adjudicator or an admin may {what}"
    require(user=user, project_id=project_id, action=Action.ADJUDICATE, why=why)


def case_lock(case: Case) -> Case:
    """Row lock on the case so that a sign-off, a reader change and an adjudication never
    interleave; the case as it is now."""
    return (
        Case.objects.select_for_update(of=("self",)).select_related("model_version").get(pk=case.pk)
    )
