"""`manage.py admin_ensure`: the first administrator, created once.

The password comes from ADMIN_PASSWORD (or ADMIN_PASSWORD_FILE); without one a random password
is generated and printed this once. An existing user is left exactly as it is."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


def given_password() -> str:
    path = os.environ.get("ADMIN_PASSWORD_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get("ADMIN_PASSWORD", "")


class Command(BaseCommand):
    help = "Create the first superuser unless it exists (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        username = options["username"]
        if users.filter(username=username).exists():
            self.stdout.write(f"user {username} exists; left unchanged")
            return
        password = given_password()
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        users.create_superuser(username, email=options["email"], password=password)
        self.stdout.write(f"created superuser {username}")
        if generated:
            self.stdout.write(f"password (shown once, store it now): {password}")
