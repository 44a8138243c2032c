"""The case page: summary, class galleries and the cell view. Tiles are drawn in the browser
from one JSON list, so the server's work does not grow with per-tile template rendering."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from allreview.cases import selectors as case_selectors
from allreview.cases.models import Case, CaseStatus
from allreview.projects.permissions import Action, role_allows
from allreview.projects.selectors import membership_role
from allreview.review.models import CaseAssignment, SignOff
from allreview.review.services import LEAD_ROLES
from allreview.review.summary import CaseSummary, case_summary

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


def gallery_rows(case: Case, order: str, show: str) -> list[list[Any]]:
    """Compact rows [id, probability, uncertainty, model class, label] for the page's JSON."""
    return [
        [
            c["id"],
            None if c["probability"] is None else round(c["probability"], 3),
            None if c["uncertainty"] is None else round(c["uncertainty"], 3),
            c["predicted_label"],
            c["label"],
        ]
        for c in case_selectors.case_gallery_cells(case=case, order=order, show=show)
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


def summary_html(request: HttpRequest, case: Case, summary: CaseSummary) -> str:
    return render_to_string(
        "review/_summary.html", {"case": case, "summary": summary}, request=request
    )


@login_required
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    if case is None:
        raise Http404("No such case")
    order = _choice(request, "order", case_selectors.GALLERY_ORDERS, "uncertainty")
    show = _choice(request, "show", case_selectors.GALLERY_FILTERS, "all")
    role = membership_role(user=request.user, project_id=case.project_id)
    summary = case_summary(case=case)
    locked = case.status == CaseStatus.SIGNED_OFF
    context = {
        "case": case,
        "summary": summary,
        "rows": gallery_rows(case, order, show),
        "order": order,
        "show": show,
        "filters": [(k, v, filter_counts(summary)[k]) for k, v in FILTER_NAMES.items()],
        "orders": ORDER_NAMES.items(),
        "can_label": role_allows(role, Action.LABEL) and not locked,
        "is_lead": role in LEAD_ROLES,
        "locked": locked,
        "signable": case.status in (CaseStatus.READY, CaseStatus.IN_REVIEW),
        "sign_off": SignOff.objects.filter(case=case).select_related("user").first()
        if locked
        else None,
        "assignment": CaseAssignment.objects.filter(case=case).select_related("user").first(),
    }
    return render(request, "review/case_detail.html", context)
