"""Who a request is from, as every layer types it."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied

# What request.user is: the project's user model (Django's own) or the anonymous user.
AnyUser = User | AnonymousUser


def user_pk(user: AnyUser) -> int:
    """The user's id for a lookup: 0 for the anonymous user, whom no row names."""
    return user.pk or 0


def signed_in(user: AnyUser) -> User:
    """The user as the author of a row. An anonymous user writes nothing (having no project, they
    were refused by `projects.access.require` already; this says so to the type checker and to a command)."""
    if not isinstance(user, User):
        raise PermissionDenied("sign in first")
    return user
