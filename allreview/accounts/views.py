from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from allreview.accounts.services import api_token_issue, api_token_revoke
from allreview.lib.users import user_pk


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request: HttpRequest) -> HttpResponse:
    new_key = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            api_token_revoke(user=request.user)
        else:
            new_key = api_token_issue(user=request.user)
    token = Token.objects.filter(user_id=user_pk(request.user)).first()
    return render(request, "accounts/api_token.html", {"token": token, "new_key": new_key})
