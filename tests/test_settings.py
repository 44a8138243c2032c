"""Settings come from the environment; production settings pass Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.paths import REPO

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7Kq2-production-like-secret-with-enough-length-and-variety-0987654321",
    "ALLOWED_HOSTS": "allreview.lab.example",
    "DATABASE_URL": "postgres://postgres:postgres@127.0.0.1:5432/allreview",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith("SECURE")
    }
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    clean.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests in this process
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_secret_key_in_production_is_a_clear_error():
    env = {**PRODUCTION, "SECRET_KEY": ""}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_bad_boolean_is_a_clear_error():
    result = manage("check", env={**PRODUCTION, "DEBUG": "perhaps"})
    assert result.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in result.stderr


def test_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(PRODUCTION["SECRET_KEY"] + "\n")
    env = {**PRODUCTION, "SECRET_KEY": "", "SECRET_KEY_FILE": str(secret)}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr


def test_every_setting_variable_is_documented_in_env_example():
    import re

    source = (REPO / "allreview" / "settings.py").read_text()
    used = set(re.findall(r'env_\w+\("([A-Z_]+)"', source))
    used |= set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', source))
    example = (REPO / "docker" / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", example, flags=re.MULTILINE))
    assert used - documented == set()
