"""Who reads a case: a reviewer takes a free case, a lead assigns and removes readers (blinded or
not). Readers of a signed-off case are part of what was signed. All audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from allreview.audit.services import audit_record
from allreview.cases.models import Case, CaseStatus
from allreview.lib.users import AnyUser, signed_in, user_pk
from allreview.projects.access import require
from allreview.projects.models import Project
from allreview.projects.permissions import Action
from allreview.review.errors import CaseLocked
from allreview.review.models import CaseReader
from allreview.review.services.rules import case_lock, require_lead


def _require_open(case: Case) -> None:
    """Readers of a signed-off case are part of what was signed: they change only after a
    reopen (adding one would void its final labels, removing one could settle disputes)."""
    if case.status == CaseStatus.SIGNED_OFF:
        raise CaseLocked()


def _reader_names(case: Case) -> list[str]:
    return list(CaseReader.objects.filter(case=case).values_list("user__username", flat=True))


def _audit_readers(*, case: Case, user: AnyUser, before: list[str], **after: Any) -> None:
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
    *, case: Case, user: AnyUser, reader: AnyUser, blinded: bool | None = None
) -> CaseReader:
    """Make `reader` one more reader of the case. Leads assign anyone who may label; a reviewer
    may only take a case nobody reads yet. Unless told, the first reader sees everything and
    later ones are blinded as the project says (Project.blind_second_reads)."""
    require(user=user, project_id=case.project_id, action=Action.LABEL)
    case = case_lock(case)
    _require_open(case)
    before = _reader_names(case)
    if not (reader == user and not before):
        require_lead(user=user, project_id=case.project_id, what="assign cases to others")
    require(user=reader, project_id=case.project_id, action=Action.LABEL)
    if reader.get_username() in before:
        raise ValidationError(f"{reader.get_username()} already reads this case")
    if blinded is None:
        blinded = bool(before) and case.project.blind_second_reads
    added = CaseReader.objects.create(
        case=case, user=signed_in(reader), blinded=blinded, assigned_by=signed_in(user)
    )
    _audit_readers(
        case=case, user=user, before=before, added=reader.get_username(), blinded=blinded
    )
    return added


@transaction.atomic
def case_reader_remove(*, case: Case, user: AnyUser, reader: AnyUser) -> None:
    """Take a reader off the case: leads remove anyone, an unblinded reader may give their own
    read back (a blinded one may not: the case would turn single-read and show them the other
    reads). Their labels stay in the history but no longer count as reads of the case."""
    require(user=user, project_id=case.project_id, action=Action.LABEL)
    if reader != user:
        require_lead(user=user, project_id=case.project_id, what="take readers off a case")
    case = case_lock(case)
    _require_open(case)
    before = _reader_names(case)
    read = CaseReader.objects.filter(case=case, user_id=user_pk(reader)).first()
    if read is None:
        raise ValidationError(f"{reader.get_username()} does not read this case")
    if read.blinded and reader == user:
        raise PermissionDenied("a blinded reader cannot give back their read; ask a lead")
    read.delete()
    _audit_readers(case=case, user=user, before=before, removed=reader.get_username())


def case_assign(*, case: Case, user: AnyUser, assignee: AnyUser | None) -> CaseReader | None:
    """The worklist's Take and Give back: add `assignee` as a reader (a reviewer may take only
    a case nobody reads), or with None take the user's own read back."""
    if assignee is None:
        case_reader_remove(case=case, user=user, reader=user)
        return None
    return case_reader_add(case=case, user=user, reader=assignee)


@transaction.atomic
def project_blinding_set(
    *, project: Project, user: AnyUser, blind_second_reads: bool, blind_model_call: bool
) -> None:
    """An admin sets whether later readers are blinded and whether blinding hides the model's
    call (audited with the values before and after)."""
    require(user=user, project_id=project.pk, action=Action.MANAGE)
    before = {
        "blind_second_reads": project.blind_second_reads,
        "blind_model_call": project.blind_model_call,
    }
    after = {"blind_second_reads": blind_second_reads, "blind_model_call": blind_model_call}
    Project.objects.filter(pk=project.pk).update(**after)
    audit_record(
        action="project.blinding",
        actor=user,
        project_id=project.pk,
        target=project,
        before=before,
        after=after,
    )
