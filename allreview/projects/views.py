from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from allreview.lib.users import user_pk
from allreview.projects.models import Membership
from allreview.projects.permissions import Action, role_allows


@login_required
@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    """My projects, each with the pages my role opens (leads see audit, exports, agreement)."""
    memberships = Membership.objects.filter(user_id=user_pk(request.user)).select_related("project")
    rows = [
        {
            "project": m.project,
            "role": m.get_role_display(),
            "lead": role_allows(m.role, Action.ADJUDICATE),
            "labeller": role_allows(m.role, Action.LABEL),
        }
        for m in memberships.order_by("project__name")
    ]
    return render(request, "projects/project_list.html", {"rows": rows})
