"""Writes of the review workspace: assignment, sign-off and reopening. All audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.cases import selectors as case_selectors
from allreview.cases.models import Case, CaseStatus
from allreview.cases.services import require_role
from allreview.projects.models import Role
from allreview.projects.permissions import Action
from allreview.projects.selectors import membership_role
from allreview.review.models import CaseAssignment, CaseReopening, SignOff

LEAD_ROLES = frozenset({Role.ADJUDICATOR, Role.ADMIN})
SIGNABLE = (CaseStatus.READY, CaseStatus.IN_REVIEW)


def is_lead(*, user: Any, project_id: int) -> bool:
    return membership_role(user=user, project_id=project_id) in LEAD_ROLES


def _require_lead(*, user: Any, project_id: int, what: str) -> None:
    if not is_lead(user=user, project_id=project_id):
        raise PermissionDenied(f"only an adjudicator or an admin may {what}")


def _locked(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",)).select_related("model_version").get(pk=case.pk)
    )


def open_cells(counts: dict[str, int]) -> int:
    """Cells that block a plain sign-off: unreviewed or unsure."""
    return counts["unreviewed"] + counts["label_unsure"]


@transaction.atomic
def case_sign_off(*, case: Case, user: Any, exception_reason: str = "") -> SignOff:
    """Snapshot the final labels and lock the case. Unreviewed or unsure cells refuse it unless a
    lead signs with a reason for the exception."""
    role = require_role(user=user, project_id=case.project_id, action=Action.LABEL)
    case = _locked(case)
    if case.status not in SIGNABLE:
        raise ValidationError(
            f"a case that is {case.get_status_display().lower()} cannot be signed"
        )
    counts = case_selectors.case_review_counts(case=case)
    blocking = open_cells(counts)
    reason = exception_reason.strip()
    if blocking and not reason:
        raise ValidationError(f"{blocking} cell(s) are unreviewed or unsure; review them first")
    if blocking and role not in LEAD_ROLES:
        raise PermissionDenied("only a lead may sign off with unreviewed or unsure cells")
    sign_off = SignOff.objects.create(
        case=case,
        user=user,
        model_version=case.model_version,
        snapshot=_snapshot(case, counts),
        exception_reason=reason if blocking else "",
    )
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.SIGNED_OFF, updated_at=timezone.now())
    audit_record(
        action="case.sign_off",
        actor=user,
        project_id=case.project_id,
        case_id=case.pk,
        target=sign_off,
        before={"status": case.status},
        after={
            "status": CaseStatus.SIGNED_OFF,
            "counts": counts,
            "exception": sign_off.exception_reason,
        },
    )
    return sign_off


def _snapshot(case: Case, counts: dict[str, int]) -> dict[str, Any]:
    model = case.model_version
    labels = case_selectors.case_current_labels(case=case)
    return {
        "model_version": {"id": model.pk, "name": model.name, "sha256": model.sha256}
        if model
        else None,
        "counts": counts,
        "labels": {str(cell): label for cell, label in labels.items()},
    }


@transaction.atomic
def case_reopen(*, case: Case, user: Any, reason: str) -> CaseReopening:
    """Unlock a signed-off case for more review; the sign-off row stays as it was signed."""
    _require_lead(user=user, project_id=case.project_id, what="reopen a signed-off case")
    if not reason.strip():
        raise ValidationError("give a reason for reopening")
    case = _locked(case)
    if case.status != CaseStatus.SIGNED_OFF:
        raise ValidationError("only a signed-off case can be reopened")
    sign_off = SignOff.objects.filter(case=case).order_by("-id").first()
    if sign_off is None:
        raise ValidationError("the case has no sign-off to reopen")
    reopening = CaseReopening.objects.create(
        case=case, sign_off=sign_off, user=user, reason=reason.strip()
    )
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.IN_REVIEW, updated_at=timezone.now())
    audit_record(
        action="case.reopen",
        actor=user,
        project_id=case.project_id,
        case_id=case.pk,
        target=reopening,
        before={"status": CaseStatus.SIGNED_OFF, "sign_off": sign_off.pk},
        after={"status": CaseStatus.IN_REVIEW, "reason": reopening.reason},
    )
    return reopening


@transaction.atomic
def case_assign(*, case: Case, user: Any, assignee: Any | None) -> CaseAssignment | None:
    """Assign the case to a reviewer of its project (None: unassign). Reviewers may take a case
    that is unassigned or give back their own; leads may assign anyone."""
    require_role(user=user, project_id=case.project_id, action=Action.LABEL)
    current = CaseAssignment.objects.select_for_update().filter(case=case).first()
    own = assignee in (None, user) and (current is None or current.user_id == user.pk)
    if not own:
        _require_lead(user=user, project_id=case.project_id, what="assign cases to others")
    if assignee is not None:
        require_role(user=assignee, project_id=case.project_id, action=Action.LABEL)
    before = current.user.get_username() if current else None
    if assignee is None:
        if current is not None:
            current.delete()
        result = None
    else:
        result, _ = CaseAssignment.objects.update_or_create(
            case=case, defaults={"user": assignee, "assigned_by": user}
        )
    after = assignee.get_username() if assignee is not None else None
    audit_record(
        action="case.assign",
        actor=user,
        project_id=case.project_id,
        case_id=case.pk,
        target=case,
        before={"assignee": before},
        after={"assignee": after},
    )
    return result
