from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import models

from allreview.audit.models import AuditEvent
from allreview.lib.users import AnyUser


def audit_record(
    *,
    action: str,
    actor: AnyUser | None = None,
    project_id: int | None = None,
    case_id: int | None = None,
    target: models.Model | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    actor_obj = actor if isinstance(actor, User) else None  # anonymous: no actor recorded
    return AuditEvent.objects.create(
        action=action,
        actor=actor_obj,
        project_id=project_id,
        case_id=case_id,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        before=before,
        after=after,
    )
