"""Behind the lab's TLS proxy, an attacker's failed logins lock the user name for the attacker's
address only; the real user, through the same proxy from elsewhere, still signs in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
PROXY = "10.0.0.2"  # every request reaches the web server from the proxy


def through_proxy(client_address: str) -> Client:
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client_address)


def lock_out_dora(settings) -> None:
    attacker = through_proxy("203.0.113.66")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attacker.post("/login/", {"username": "dora", "password": "wrong"})
    assert attacker.post("/login/", {"username": "dora", "password": PASSWORD}).status_code == 429


def test_an_attacker_behind_the_proxy_does_not_lock_the_user_out_elsewhere(db, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="dora")
    lock_out_dora(settings)
    dora = through_proxy("198.51.100.7")
    assert dora.post("/login/", {"username": "dora", "password": PASSWORD}).status_code == 302


def test_a_forged_forwarded_for_does_not_escape_the_lock(db, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="dora")
    lock_out_dora(settings)
    # The attacker prepends a made-up address; the proxy appends the real one, which counts.
    forged = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.66")
    assert forged.post("/login/", {"username": "dora", "password": PASSWORD}).status_code == 429


def test_without_the_proxy_setting_the_proxy_address_is_all_there_is(db, settings):
    """What the setting fixes: counted by REMOTE_ADDR, everyone behind the proxy is one client."""
    settings.TRUSTED_PROXY_COUNT = 0
    UserFactory(username="dora")
    lock_out_dora(settings)
    dora = through_proxy("198.51.100.7")
    assert dora.post("/login/", {"username": "dora", "password": PASSWORD}).status_code == 429


@pytest.mark.parametrize(("value", "expected"), [("", "0"), ("1", "1"), ("2", "2")])
def test_the_proxy_count_comes_from_the_environment(value, expected):
    env = {**os.environ, "TRUSTED_PROXY_COUNT": value}
    code = "from django.conf import settings; print(settings.TRUSTED_PROXY_COUNT)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=Path(__file__).resolve().parents[2],
        env={**env, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == expected, result.stderr
