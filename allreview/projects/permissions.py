"""What each project role may do. One table, used by pages, the API and image views alike."""

from __future__ import annotations

from enum import StrEnum

from allreview.projects.models import Role


class Action(StrEnum):
    VIEW = "view"
    UPLOAD = "upload"
    LABEL = "label"
    RETRY = "retry"
    ADJUDICATE = "adjudicate"
    MANAGE = "manage"


ALLOWED: dict[Action, frozenset[str]] = {
    Action.VIEW: frozenset(Role.values),
    Action.UPLOAD: frozenset({Role.UPLOADER, Role.ADJUDICATOR, Role.ADMIN}),
    Action.LABEL: frozenset({Role.REVIEWER, Role.ADJUDICATOR, Role.ADMIN}),
    Action.RETRY: frozenset({Role.UPLOADER, Role.ADJUDICATOR, Role.ADMIN}),
    Action.ADJUDICATE: frozenset({Role.ADJUDICATOR, Role.ADMIN}),
    Action.MANAGE: frozenset({Role.ADMIN}),
}


def role_allows(role: str | None, action: Action) -> bool:
    return role is not None and role in ALLOWED[action]
