"""An adjudicator's call on a cell whose readers disagree: it becomes the cell's final label."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from allreview.audit.services import audit_record
from allreview.cases.models import CaseStatus, Cell, Label, LabelKind, LabelValue
from allreview.lib.users import AnyUser, signed_in
from allreview.projects.access import require
from allreview.projects.permissions import Action
from allreview.review.errors import CaseLocked, StaleView
from allreview.review.selectors.labels import cells_reads, newest_label_id
from allreview.review.selectors.reading import reading_view
from allreview.review.services.rules import case_lock


@transaction.atomic
def cell_adjudicate(*, cell: Cell, user: AnyUser, value: str, seen: int | None) -> Label:
    """Record an adjudicator's call, which becomes the cell's final label. `seen` is the id of
    the newest label the adjudicator's view showed: if any label was written since (a reader's
    or another adjudicator's), StaleView is raised and nothing is written, never a silent
    overwrite. The case row and then the cell row are locked while checking."""
    require(user=user, project_id=cell.case.project_id, action=Action.ADJUDICATE)
    if value not in LabelValue.values:
        raise ValidationError(f"{value!r} is not one of {', '.join(LabelValue.values)}")
    case = case_lock(cell.case)
    if case.status == CaseStatus.SIGNED_OFF:
        raise CaseLocked()
    if reading_view(case=case, user=user).blinded:
        raise PermissionDenied("you read this case blinded; another lead adjudicates it")
    Cell.objects.select_for_update().filter(pk=cell.pk).values_list("pk", flat=True).get()
    newest = newest_label_id(cell_id=cell.pk)
    if newest != seen:
        raise StaleView(newest)
    reads = cells_reads(cell_ids=[cell.pk]).get(cell.pk, {})
    label = Label.objects.create(
        cell=cell, value=value, user=signed_in(user), kind=LabelKind.ADJUDICATION
    )
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
