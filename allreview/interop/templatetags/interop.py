"""{% fhir_panel case %} on the case page's sign-off section: the report links and, where the
project pushes to a FHIR server, how the push of this case went."""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AbstractBaseUser

from allreview.cases.models import Case, CaseStatus
from allreview.interop import selectors
from allreview.interop.models import PushStatus
from allreview.projects.permissions import Action, role_allows
from allreview.projects.selectors import membership_role

register = template.Library()


@register.inclusion_tag("interop/_signoff_panel.html")
def fhir_panel(case: Case, user: AbstractBaseUser) -> dict[str, object]:
    role = membership_role(user=user, project_id=case.project_id)
    endpoint = selectors.fhir_endpoint(project_id=case.project_id)
    push = selectors.case_pushes(case=case).first()
    signed = case.status == CaseStatus.SIGNED_OFF
    return {
        "case": case,
        "signed": signed,
        "push": push,
        "endpoint_set": endpoint is not None and bool(endpoint.base_url),
        "can_push": signed
        and role_allows(role, Action.ADJUDICATE)
        and endpoint is not None
        and bool(endpoint.base_url)
        and (push is None or push.status not in {PushStatus.PENDING, PushStatus.SENDING}),
        "push_failed": push is not None and push.status in {PushStatus.FAILED, PushStatus.RETRYING},
    }
