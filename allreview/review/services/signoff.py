"""Sign-off (the case's final labels recorded and locked) and reopening by a lead. Audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.cases import standins
from allreview.cases.models import Case, CaseStatus, Prediction
from allreview.lib.users import AnyUser, signed_in
from allreview.projects.access import require
from allreview.projects.permissions import Action, role_allows
from allreview.review.errors import CaseLocked
from allreview.review.models import CaseReader, CaseReopening, SignedCell, SignOff
from allreview.review.selectors.final import disputed_count
from allreview.review.selectors.gallery import case_current_labels, case_review_counts
from allreview.review.selectors.labels import cells_reads_by_anyone
from allreview.review.selectors.reading import reading_view
from allreview.review.services.rules import case_lock, require_lead

SIGNABLE = (CaseStatus.READY, CaseStatus.IN_REVIEW)


def open_cells(counts: dict[str, int]) -> int:
    """Cells that block a plain sign-off: unreviewed or unsure."""
    return counts["unreviewed"] + counts["label_unsure"]


@transaction.atomic
def case_sign_off(*, case: Case, user: AnyUser, exception_reason: str = "") -> SignOff:
    """Snapshot the final labels and lock the case. Unreviewed or unsure cells refuse it unless a
    lead signs with a reason for the exception."""
    role = require(user=user, project_id=case.project_id, action=Action.LABEL)
    case = case_lock(case)
    if case.status == CaseStatus.SIGNED_OFF:
        raise CaseLocked()
    if case.status not in SIGNABLE:
        raise ValidationError(
            f"a case that is {case.get_status_display().lower()} cannot be signed"
        )
    view = reading_view(case=case, user=user)
    if view.lead_override and not view.lead:
        raise PermissionDenied("this case is taken: only its readers (or a lead) sign it off")
    counts = case_review_counts(case=case)
    disputed = disputed_count(case=case)
    blocking = open_cells(counts)
    reason = exception_reason.strip()
    if disputed and not reason:
        raise ValidationError(
            f"{disputed} cell(s) have readers who disagree; adjudicate them first"
        )
    if blocking and not reason:
        raise ValidationError(f"{blocking} cell(s) are unreviewed or unsure; review them first")
    if blocking and not role_allows(role, Action.ADJUDICATE):
        raise PermissionDenied("only a lead may sign off with unreviewed or unsure cells")
    sign_off = SignOff.objects.create(
        case=case,
        user=signed_in(user),
        model_version=case.model_version,
        snapshot=_snapshot(case, counts),
        exception_reason=reason if blocking else "",
    )
    _signed_cells_record(sign_off)
    standins.case_signed_announce(case=case, sign_off_id=sign_off.pk)  # reader QC's record
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
            **({"lead_override": True} if view.lead_override else {}),
        },
    )
    return sign_off


def _signed_cells_record(sign_off: SignOff) -> None:
    """One SignedCell per cell: the final label as in the snapshot, the signed model version's
    call and each labeller's newest read, so every later reader of the record reads these."""
    labels = sign_off.snapshot["labels"]
    cell_ids = [int(c) for c in labels]
    calls = dict(
        Prediction.objects.filter(
            cell_id__in=cell_ids, model_version_id=sign_off.model_version_id
        ).values_list("cell_id", "label")
    )
    reads = cells_reads_by_anyone(cell_ids=cell_ids)
    SignedCell.objects.bulk_create(
        (
            SignedCell(
                sign_off=sign_off,
                cell_id=cell,
                label=labels[str(cell)] or "",
                model_label=calls.get(cell, ""),
                reads=reads.get(cell, {}),
            )
            for cell in cell_ids
        ),
        batch_size=1000,
    )


def _snapshot(case: Case, counts: dict[str, int]) -> dict[str, Any]:
    """Final labels only (adjudicated, agreed, or the single reader's), and who read the case."""
    model = case.model_version
    labels = case_current_labels(case=case)
    readers = CaseReader.objects.filter(case=case).values_list("user__username", "blinded")
    return {
        "model_version": {"id": model.pk, "name": model.name, "sha256": model.sha256}
        if model
        else None,
        "counts": counts,
        "labels": {str(cell): label for cell, label in labels.items()},
        "readers": [{"user": name, "blinded": blinded} for name, blinded in readers],
    }


@transaction.atomic
def case_reopen(*, case: Case, user: AnyUser, reason: str) -> CaseReopening:
    """Unlock a signed-off case for more review; the sign-off row stays as it was signed."""
    require_lead(user=user, project_id=case.project_id, what="reopen a signed-off case")
    if not reason.strip():
        raise ValidationError("give a reason for reopening")
    case = case_lock(case)
    if case.status != CaseStatus.SIGNED_OFF:
        raise ValidationError("only a signed-off case can be reopened")
    sign_off = SignOff.objects.filter(case=case).order_by("-id").first()
    if sign_off is None:
        raise ValidationError("the case has no sign-off to reopen")
    reopening = CaseReopening.objects.create(
        case=case, sign_off=sign_off, user=signed_in(user), reason=reason.strip()
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


# --- Adjudication ---------------------------------------------------------------------------------
