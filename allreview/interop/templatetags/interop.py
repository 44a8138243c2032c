"""{% fhir_panel case %} on the case page's sign-off section: the report links and, where the
project pushes to a FHIR server, how the push of this case went. One query (case_push_view);
whether the viewer is a lead comes from the page's context."""

from __future__ import annotations

from django import template

from allreview.cases.models import CaseStatus
from allreview.interop.models import PushStatus
from allreview.interop.selectors import case_push_view

register = template.Library()

IN_FLIGHT = {PushStatus.PENDING, PushStatus.SENDING}
FAILING = {PushStatus.FAILED, PushStatus.RETRYING}


@register.inclusion_tag("interop/_signoff_panel.html", takes_context=True)
def fhir_panel(context: template.Context) -> dict[str, object]:
    case = context["case"]
    push = case_push_view(case=case)
    signed = case.status == CaseStatus.SIGNED_OFF
    return {
        "case": case,
        "signed": signed,
        "push": push if push.status else None,
        "can_push": signed
        and bool(context.get("is_lead"))
        and push.endpoint_set
        and push.status not in IN_FLIGHT,
        "push_failed": push.status in FAILING,
    }
