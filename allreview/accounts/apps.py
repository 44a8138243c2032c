from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "allreview.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        user_login_failed.connect(_audit_failed_login, dispatch_uid="audit_failed_login")


def _audit_failed_login(
    sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any
) -> None:
    # Django's auth only tells us through this signal; the password is never recorded.
    from allreview.audit.services import audit_record

    audit_record(
        action="login.failed", after={"username": str(credentials.get("username", ""))[:150]}
    )
