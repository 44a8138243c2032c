"""API tokens: one per user, shown once when created, revocable at any time."""

from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from allreview.audit.services import audit_record
from allreview.lib.users import AnyUser, signed_in, user_pk


@transaction.atomic
def api_token_issue(*, user: AnyUser) -> str:
    """A new token, replacing (and so revoking) any earlier one. Returned once, never shown again."""
    revoked = Token.objects.filter(user_id=user_pk(user)).delete()[0] > 0
    token = Token.objects.create(user=signed_in(user))
    audit_record(action="token.issue", actor=user, after={"replaced_previous": revoked})
    key: str = token.key
    return key


@transaction.atomic
def api_token_revoke(*, user: AnyUser) -> bool:
    revoked = Token.objects.filter(user_id=user_pk(user)).delete()[0] > 0
    if revoked:
        audit_record(action="token.revoke", actor=user)
    return revoked
