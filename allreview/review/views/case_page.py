"""The case page: summary, class galleries and the cell view. Tiles are drawn in the browser
from one JSON list, so the server's work does not grow with per-tile template rendering."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from allreview.cases.access import case_for
from allreview.cases.models import Case, CaseStatus
from allreview.lib.users import AnyUser
from allreview.projects.models import Membership
from allreview.projects.permissions import ALLOWED, Action, role_allows
from allreview.review import hooks
from allreview.review.models import CaseReader, SignOff
from allreview.review.selectors.final import disputed_count
from allreview.review.selectors.gallery import GALLERY_FILTERS, GALLERY_ORDERS, case_gallery_cells
from allreview.review.selectors.reading import (
    ReadingView,
    reading_facts,
    reading_view_of,
    viewer_label,
)
from allreview.review.summary import CaseSummary, case_summary
from allreview.review.thumbnails import cell_address, thumbnail_pack_url

FILTER_NAMES = {
    "all": "All cells",
    "unreviewed": "Unreviewed",
    "disagree": "Reviewer ≠ model",
    "unsure": "Unsure",
    "artifact": "Artifacts",
}
ORDER_NAMES = {"uncertainty": "Most uncertain first", "probability": "Highest blast probability"}


def _choice(request: HttpRequest, name: str, options: tuple[str, ...], default: str) -> str:
    value = request.GET.get(name, default)
    return value if value in options else default


def gallery_rows(
    case: Case,
    order: str,
    show: str,
    *,
    user: AnyUser | None = None,
    view: ReadingView | None = None,
) -> list[list[Any]]:
    """Compact rows [id, probability, uncertainty, model class, label, address] for the page's
    JSON (the address names the thumbnail, see thumbnails.thumbnail_url): the labels as the user
    sees them (their own reads when blinded, and no model values when blinded to the model)."""
    label = None
    if user is not None and view is not None:
        label = viewer_label(case=case, user=user, view=view)
    cells = case_gallery_cells(
        case=case,
        order=order,
        show=show,
        label=label,
        model_hidden=view is not None and view.model_hidden,
        stand_ins=view is not None and view.stand_ins,  # reader QC: known-answer cells too
    )
    return [
        [
            c["id"],
            None if c["probability"] is None else round(c["probability"], 3),
            None if c["uncertainty"] is None else round(c["uncertainty"], 3),
            c["predicted_label"],
            c["label"],
            cell_address(c["id"], c["sha256"]),
        ]
        for c in cells
    ]


def filter_counts(summary: CaseSummary) -> dict[str, int]:
    counts = summary.counts
    return {
        "all": counts["total"],
        "unreviewed": counts["unreviewed"],
        "disagree": counts["disagree"],
        "unsure": counts["label_unsure"],
        "artifact": counts["label_artifact"],
    }


def filter_items(summary: CaseSummary) -> list[tuple[str, str, int]]:
    counts = filter_counts(summary)
    hidden = {"disagree"} if summary.model_hidden else set()
    return [(k, v, counts[k]) for k, v in FILTER_NAMES.items() if k not in hidden]


def readers_context(case: Case, is_lead: bool) -> dict[str, Any]:
    """The case's readers, and for leads the project's members who could be added."""
    readers = list(CaseReader.objects.filter(case=case).select_related("user"))
    candidates: list[Any] = []
    if is_lead:
        taken = {r.user_id for r in readers}
        candidates = [
            m.user
            for m in Membership.objects.filter(
                project_id=case.project_id, role__in=ALLOWED[Action.LABEL]
            )
            .select_related("user")
            .order_by("user__username")
            if m.user_id not in taken
        ]
    return {"readers": readers, "reader_candidates": candidates}


def summary_html(request: HttpRequest, case: Case, summary: CaseSummary) -> str:
    return render_to_string(
        "review/_summary.html", {"case": case, "summary": summary}, request=request
    )


@login_required
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    # the role and the reading view's facts come with the case: one query, not four
    facts = reading_facts(user=request.user, role_of="project_id")
    case = case_for(user=request.user, case_id=case_id, annotations=facts)
    order = _choice(request, "order", GALLERY_ORDERS, "uncertainty")
    show = _choice(request, "show", GALLERY_FILTERS, "all")
    row: Any = case  # carries the annotations
    role = row.member_role
    view = reading_view_of(case=case, role=role)
    summary = case_summary(case=case, user=request.user, view=view)
    locked = case.status == CaseStatus.SIGNED_OFF
    is_lead = role_allows(role, Action.ADJUDICATE)
    context = {
        "case": case,
        "summary": summary,
        "view": view,
        "rows": gallery_rows(case, order, show, user=request.user, view=view),
        "thumbnail_pack_url": thumbnail_pack_url(case),
        "order": order,
        "show": show,
        "filters": filter_items(summary),
        "orders": [] if view.model_hidden else ORDER_NAMES.items(),
        "can_label": role_allows(role, Action.LABEL) and view.may_label and not locked,
        "is_lead": is_lead,
        "disputed": disputed_count(case=case)
        if is_lead and view.double_read and not view.blinded
        else 0,
        "locked": locked,
        "signable": case.status in (CaseStatus.READY, CaseStatus.IN_REVIEW),
        "sign_off": SignOff.objects.filter(case=case).select_related("user").first()
        if locked
        else None,
        **readers_context(case, is_lead),
        **hooks.case_page_extras(case),  # issue 14: the case's smear fields (allreview.fields)
    }
    return render(request, "review/case_detail.html", context)
