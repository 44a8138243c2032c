"""API tokens: one per user, shown once when created, revocable at any time."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.authtoken.models import Token

from allreview.audit.services import audit_record


@transaction.atomic
def api_token_issue(*, user: Any) -> str:
    """A new token, replacing (and so revoking) any earlier one. Returned once, never shown again."""
    revoked = Token.objects.filter(user=user).delete()[0] > 0
    token = Token.objects.create(user=user)
    audit_record(action="token.issue", actor=user, after={"replaced_previous": revoked})
    return token.key


@transaction.atomic
def api_token_revoke(*, user: Any) -> bool:
    revoked = Token.objects.filter(user=user).delete()[0] > 0
    if revoked:
        audit_record(action="token.revoke", actor=user)
    return revoked
