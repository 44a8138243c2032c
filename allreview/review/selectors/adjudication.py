"""The adjudication queue: cells whose readers disagree and no adjudicator has settled."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from allreview.cases.models import CaseStatus, Cell, Label, Prediction
from allreview.cases.selectors import OWN_CELLS
from allreview.lib.users import AnyUser
from allreview.projects.models import Project
from allreview.review.selectors.final import unadjudicated_disputed_filter
from allreview.review.selectors.reading import blinded_open_case_ids


def adjudication_queue(*, project: Project, user: AnyUser) -> QuerySet[Cell]:
    """Cells of the project's open cases whose readers disagree and no adjudicator has settled,
    with the model's call and the id of the newest label (the version a decision is made on).
    Cases the user reads blinded are left out: the queue shows every reader's read."""
    model_call = Prediction.objects.filter(
        cell_id=OuterRef("pk"), model_version_id=OuterRef("case__model_version_id")
    )
    newest = Label.objects.filter(cell_id=OuterRef("pk")).order_by("-id").values("id")[:1]
    return (
        Cell.objects.filter(OWN_CELLS, case__project=project)
        .exclude(case__status=CaseStatus.SIGNED_OFF)
        .exclude(case_id__in=blinded_open_case_ids(user=user))
        .filter(unadjudicated_disputed_filter())
        .select_related("case")
        .annotate(
            model_label=Subquery(model_call.values("label")[:1]),
            model_probability=Subquery(model_call.values("probability")[:1]),
            newest_label=Subquery(newest),
        )
        .order_by("case_id", "id")
    )
