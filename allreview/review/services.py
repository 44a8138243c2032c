"""Writes of the review workspace: readers, adjudication, sign-off and reopening. All audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.cases import selectors as case_selectors
from allreview.cases import standins
from allreview.cases.models import Case, CaseStatus, Cell, Label, LabelKind, LabelValue, Prediction
from allreview.cases.services import CaseLocked, require_role
from allreview.projects.models import Role
from allreview.projects.permissions import Action
from allreview.projects.selectors import membership_role
from allreview.review.models import CaseReader, CaseReopening, SignedCell, SignOff

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
    if case.status == CaseStatus.SIGNED_OFF:
        raise CaseLocked()
    if case.status not in SIGNABLE:
        raise ValidationError(
            f"a case that is {case.get_status_display().lower()} cannot be signed"
        )
    view = case_selectors.reading_view(case=case, user=user)
    if view.lead_override and not view.lead:
        raise PermissionDenied("this case is taken: only its readers (or a lead) sign it off")
    counts = case_selectors.case_review_counts(case=case)
    disputed = disputed_count(case=case)
    blocking = open_cells(counts)
    reason = exception_reason.strip()
    if disputed and not reason:
        raise ValidationError(
            f"{disputed} cell(s) have readers who disagree; adjudicate them first"
        )
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
    reads = case_selectors.cells_reads_by_anyone(cell_ids=cell_ids)
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


def disputed_count(*, case: Case) -> int:
    """Cells whose readers disagree and no adjudicator has settled."""
    return (
        Cell.objects.filter(case_selectors.OWN_CELLS, case=case)
        .filter(case_selectors.unadjudicated_disputed_filter())
        .count()
    )


def _snapshot(case: Case, counts: dict[str, int]) -> dict[str, Any]:
    """Final labels only (adjudicated, agreed, or the single reader's), and who read the case."""
    model = case.model_version
    labels = case_selectors.case_current_labels(case=case)
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


def _require_open(case: Case) -> None:
    """Readers of a signed-off case are part of what was signed: they change only after a
    reopen (adding one would void its final labels, removing one could settle disputes)."""
    if case.status == CaseStatus.SIGNED_OFF:
        raise CaseLocked()


def _reader_names(case: Case) -> list[str]:
    return list(CaseReader.objects.filter(case=case).values_list("user__username", flat=True))


def _audit_readers(*, case: Case, user: Any, before: list[str], **after: Any) -> None:
    audit_record(
        action="case.assign",
        actor=user,
        project_id=case.project_id,
        case_id=case.pk,
        target=case,
        before={"readers": before},
        after={"readers": _reader_names(case), **after},
    )


@transaction.atomic
def case_reader_add(
    *, case: Case, user: Any, reader: Any, blinded: bool | None = None
) -> CaseReader:
    """Make `reader` one more reader of the case. Leads assign anyone who may label; a reviewer
    may only take a case nobody reads yet. Unless told, the first reader sees everything and
    later ones are blinded as the project says (Project.blind_second_reads)."""
    require_role(user=user, project_id=case.project_id, action=Action.LABEL)
    case = _locked(case)
    _require_open(case)
    before = _reader_names(case)
    if not (reader == user and not before):
        _require_lead(user=user, project_id=case.project_id, what="assign cases to others")
    require_role(user=reader, project_id=case.project_id, action=Action.LABEL)
    if reader.get_username() in before:
        raise ValidationError(f"{reader.get_username()} already reads this case")
    if blinded is None:
        blinded = bool(before) and case.project.blind_second_reads
    added = CaseReader.objects.create(case=case, user=reader, blinded=blinded, assigned_by=user)
    _audit_readers(
        case=case, user=user, before=before, added=reader.get_username(), blinded=blinded
    )
    return added


@transaction.atomic
def case_reader_remove(*, case: Case, user: Any, reader: Any) -> None:
    """Take a reader off the case: leads remove anyone, an unblinded reader may give their own
    read back (a blinded one may not: the case would turn single-read and show them the other
    reads). Their labels stay in the history but no longer count as reads of the case."""
    require_role(user=user, project_id=case.project_id, action=Action.LABEL)
    if reader != user:
        _require_lead(user=user, project_id=case.project_id, what="take readers off a case")
    case = _locked(case)
    _require_open(case)
    before = _reader_names(case)
    read = CaseReader.objects.filter(case=case, user=reader).first()
    if read is None:
        raise ValidationError(f"{reader.get_username()} does not read this case")
    if read.blinded and reader == user:
        raise PermissionDenied("a blinded reader cannot give back their read; ask a lead")
    read.delete()
    _audit_readers(case=case, user=user, before=before, removed=reader.get_username())


def case_assign(*, case: Case, user: Any, assignee: Any | None) -> CaseReader | None:
    """The worklist's Take and Give back: add `assignee` as a reader (a reviewer may take only
    a case nobody reads), or with None take the user's own read back."""
    if assignee is None:
        case_reader_remove(case=case, user=user, reader=user)
        return None
    return case_reader_add(case=case, user=user, reader=assignee)


# --- Adjudication ---------------------------------------------------------------------------------


class StaleView(Exception):
    """The adjudicator decided on a view of the cell that is no longer current (HTTP 409)."""

    def __init__(self, newest: int | None) -> None:
        super().__init__(
            "the cell was labelled since you loaded it; reload and decide on what is there now"
        )
        self.newest = newest


@transaction.atomic
def cell_adjudicate(*, cell: Cell, user: Any, value: str, seen: int | None) -> Label:
    """Record an adjudicator's call, which becomes the cell's final label. `seen` is the id of
    the newest label the adjudicator's view showed: if any label was written since (a reader's
    or another adjudicator's), StaleView is raised and nothing is written, never a silent
    overwrite. The case row and then the cell row are locked while checking."""
    require_role(user=user, project_id=cell.case.project_id, action=Action.ADJUDICATE)
    if value not in LabelValue.values:
        raise ValidationError(f"{value!r} is not one of {', '.join(LabelValue.values)}")
    case = _locked(cell.case)
    if case.status == CaseStatus.SIGNED_OFF:
        raise CaseLocked()
    if case_selectors.reading_view(case=case, user=user).blinded:
        raise PermissionDenied("you read this case blinded; another lead adjudicates it")
    Cell.objects.select_for_update().filter(pk=cell.pk).values_list("pk", flat=True).get()
    newest = case_selectors.newest_label_id(cell_id=cell.pk)
    if newest != seen:
        raise StaleView(newest)
    reads = case_selectors.cells_reads(cell_ids=[cell.pk]).get(cell.pk, {})
    label = Label.objects.create(cell=cell, value=value, user=user, kind=LabelKind.ADJUDICATION)
    audit_record(
        action="label.adjudicate",
        actor=user,
        project_id=case.project_id,
        case_id=case.pk,
        target=cell,
        before={"reads": reads},
        after={"label": value, "seen": seen},
    )
    return label
