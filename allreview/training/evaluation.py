"""The frozen evaluation set: patients chosen once (automatically or by a lead), never trained on,
on which every candidate and the production model are scored."""

from __future__ import annotations

import math

from django.contrib.auth.models import User
from django.db import transaction

from allreview.audit.services import audit_record
from allreview.lib.queueing import enqueue_on_commit
from allreview.lib.users import AnyUser
from allreview.mlmodels.models import ModelStatus
from allreview.mlmodels.selectors import model_statuses, model_versions_visible
from allreview.projects.models import Project
from allreview.training import tasks
from allreview.training.models import EvaluationPatient
from allreview.training.scoring import model_version_score
from allreview.training.selectors import evaluation_codes, patients_by_majority


def patients_needed_per_class(share: float) -> int:
    """Signed-off patients a class needs before the automatic frozen set takes one of them:
    at least one frozen (share of them, rounded down) and two left for training."""
    if share <= 0:
        return 0
    n = 1
    while math.floor(n * share) < 1 or n - math.floor(n * share) < 2:
        n += 1
        if n > 1000:
            return 0
    return n


def evaluation_set_ensure(*, project: Project, share: float) -> None:
    """Freeze a fixed share of signed-off patients when none was chosen: each patient counts
    for the class most of its cells have, and a class gives patients away only while at least
    two of its patients stay for training (one of them for validation)."""
    if EvaluationPatient.objects.filter(project=project).exists():
        return
    chosen: list[str] = []
    for patients in patients_by_majority(project=project).values():
        count = math.floor(len(patients) * share)
        if count >= 1 and len(patients) - count >= 2:
            # Deterministic: every k-th of the sorted codes.
            chosen += sorted(patients)[:: len(patients) // count][:count]
    if chosen:
        evaluation_patients_add(project=project, patient_codes=sorted(chosen), user=None)


def evaluation_patients_add(
    *, project: Project, patient_codes: list[str], user: AnyUser | None
) -> int:
    """Add patients to the frozen set (audited); versions are rescored on the new set."""
    known = evaluation_codes(project=project)
    new = [code for code in patient_codes if code not in known]
    if not new:
        return 0
    with transaction.atomic():
        EvaluationPatient.objects.bulk_create(
            [
                EvaluationPatient(
                    project=project,
                    patient_code=code,
                    added_by=user if isinstance(user, User) else None,
                )
                for code in new
            ]
        )
        audit_record(
            action="evaluation_set.add",
            actor=user,
            project_id=project.pk,
            after={"patients": new},
        )
        enqueue_on_commit(tasks.evaluation_rescore, project.pk)
    return len(new)


def evaluation_rescore_all(*, project: Project) -> int:
    """Score the project's production model and its candidates (its own and the shared versions
    it has not retired) on the current frozen set."""
    statuses = model_statuses(project=project)
    versions = [
        v
        for v in model_versions_visible(project=project)
        if statuses.get(v.pk) != ModelStatus.RETIRED
    ]
    return sum(model_version_score(version=v, project=project) is not None for v in versions)
