"""Writes of reader QC: the project's settings (admins) and its pool of reference cells (leads).
Every change is audited."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.lib.users import AnyUser, signed_in
from allreview.projects.access import require
from allreview.projects.models import Project
from allreview.projects.permissions import Action
from allreview.quality.models import MAX_RATE, QualitySettings, ReferenceCell
from allreview.quality.selectors import Candidate, reference_candidates

MAX_CELLS_PER_ADD = 500


def _settings_values(settings: QualitySettings) -> dict[str, object]:
    return {
        "enabled": settings.enabled,
        "rate": settings.rate,
        "accuracy_floor": settings.accuracy_floor,
    }


@transaction.atomic
def quality_settings_set(
    *, project: Project, user: AnyUser, enabled: bool, rate: float, accuracy_floor: float
) -> QualitySettings:
    """Turn reader QC on or off and set its rate and floor (admins). New cases get reference
    cells from then on; cases already uploaded are left as they are."""
    require(user=user, project_id=project.pk, action=Action.MANAGE)
    errors: dict[str, list[str]] = {}
    if not 0 < rate <= MAX_RATE:
        errors["rate"] = [f"give a rate above 0 and at most {MAX_RATE} (e.g. 0.03 for 3%)"]
    if not 0 <= accuracy_floor <= 1:
        errors["accuracy_floor"] = ["give an accuracy between 0 and 1 (e.g. 0.9)"]
    if errors:
        raise ValidationError(errors)
    settings, _ = QualitySettings.objects.select_for_update().get_or_create(project=project)
    before = _settings_values(settings)
    settings.enabled, settings.rate, settings.accuracy_floor = enabled, rate, accuracy_floor
    settings.updated_by = signed_in(user)
    settings.save()
    audit_record(
        action="quality.settings",
        actor=user,
        project_id=project.pk,
        target=settings,
        before=before,
        after=_settings_values(settings),
    )
    return settings


@transaction.atomic
def reference_cells_add(
    *, project: Project, user: AnyUser, cell_ids: list[int]
) -> list[ReferenceCell]:
    """Add cells to the pool (leads). Each must be a candidate now (see reference_candidates):
    otherwise nothing is added and the error names the first that is not."""
    require(user=user, project_id=project.pk, action=Action.ADJUDICATE)
    if not cell_ids or len(cell_ids) > MAX_CELLS_PER_ADD:
        raise ValidationError(f"choose 1 to {MAX_CELLS_PER_ADD} cells")
    candidates: dict[int, Candidate] = {
        c.cell_id: c for c in reference_candidates(project=project, limit=10**9)
    }
    missing = [i for i in cell_ids if i not in candidates]
    if missing:
        raise ValidationError(
            f"cell {missing[0]} cannot be a reference cell: it must be a cell of a signed-off "
            "case of this project whose final label (blast or normal) came from adjudication "
            "or two agreeing readers, and not already in the pool"
        )
    added = []
    for cell_id in dict.fromkeys(cell_ids):
        candidate = candidates[cell_id]
        reference = ReferenceCell.objects.create(
            project=project,
            cell_id=cell_id,
            answer=candidate.answer,
            source=candidate.source,
            chosen_by=signed_in(user),
        )
        audit_record(
            action="quality.reference_add",
            actor=user,
            project_id=project.pk,
            case_id=candidate.case_id,
            target=reference,
            after={"cell": cell_id, "answer": candidate.answer, "source": candidate.source},
        )
        added.append(reference)
    return added


@transaction.atomic
def reference_cell_retire(*, reference: ReferenceCell, user: AnyUser) -> ReferenceCell:
    """Take a cell out of the pool for new cases (leads); where it was shown stays recorded."""
    require(user=user, project_id=reference.project_id, action=Action.ADJUDICATE)
    locked = ReferenceCell.objects.select_for_update().get(pk=reference.pk)
    if locked.retired_at is not None:
        raise ValidationError("that reference cell was retired already")
    locked.retired_at = timezone.now()
    locked.save(update_fields=["retired_at"])
    audit_record(
        action="quality.reference_retire",
        actor=user,
        project_id=locked.project_id,
        target=locked,
        before={"cell": locked.cell_id},
    )
    return locked
