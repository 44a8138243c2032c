"""Sign-off and reopening: form posts from the case page. Success redirects back with a message;
a refusal answers a page saying why (403, 409 or 400), never a redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from allreview.cases.access import case_for
from allreview.lib.refusals import REFUSALS, refusal_page
from allreview.review.services import signoff


@login_required
@require_POST
def case_sign_off(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_for(user=request.user, case_id=case_id)
    try:
        signoff.case_sign_off(
            case=case, user=request.user, exception_reason=request.POST.get("exception_reason", "")
        )
    except REFUSALS as exc:
        back = reverse("review:case_detail", args=[case.pk])
        return refusal_page(request, exc, back=back, title="Not signed off")
    messages.success(request, f"Case #{case.pk} signed off and locked.")
    return redirect("review:case_detail", case_id=case.pk)


@login_required
@require_POST
def case_reopen(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_for(user=request.user, case_id=case_id)
    try:
        signoff.case_reopen(case=case, user=request.user, reason=request.POST.get("reason", ""))
    except REFUSALS as exc:
        back = reverse("review:case_detail", args=[case.pk])
        return refusal_page(request, exc, back=back, title="Not reopened")
    messages.success(request, f"Case #{case.pk} reopened for review.")
    return redirect("review:case_detail", case_id=case.pk)
