"""Secret files are owner-only from their first byte; demo readers do not share the admin's
password."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from allreview.lib.secretfile import secret_file_ensure

REPO = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    previous = os.umask(0)  # the worst case: files would be created world-writable
    yield
    os.umask(previous)


def test_a_secret_file_is_created_owner_only_without_a_chmod(tmp_path, open_umask, monkeypatch):
    def no_chmod(*args, **kwargs):
        raise AssertionError("the mode must be set at creation, not changed afterwards")

    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(Path, "chmod", no_chmod)
    value = secret_file_ensure(tmp_path / "var" / "admin_password")
    assert mode(tmp_path / "var" / "admin_password") == 0o600
    assert len(value) >= 20
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["admin_password"]  # no leftovers


def test_an_existing_secret_is_kept(tmp_path):
    path = tmp_path / "admin_password"
    first = secret_file_ensure(path)
    assert secret_file_ensure(path) == first
    assert secret_file_ensure(path, lambda: "another") == first


def test_the_command_line_form_makes_the_local_secret_key_owner_only(tmp_path):
    target = tmp_path / "secret_key"
    subprocess.run(
        [sys.executable, "-m", "allreview.lib.secretfile", str(target)],
        cwd=REPO,
        check=True,
        preexec_fn=lambda: os.umask(0),
        timeout=60,
    )
    assert mode(target) == 0o600 and len(target.read_text().strip()) >= 50


def test_run_script_creates_the_secret_key_without_chmod():
    script = (REPO / "scripts" / "run.sh").read_text()
    assert "allreview.lib.secretfile var/secret_key" in script
    assert "chmod" not in script


def test_demo_readers_get_their_own_passwords(db, settings, tmp_path, open_umask):
    """sam is new; rita was left with the admin's password by an earlier install."""
    settings.VAR_DIR = tmp_path
    users = get_user_model().objects
    users.create_user("rita", password=secret_file_ensure(tmp_path / "admin_password"))
    call_command("demo_setup", skip_model=True)
    names = ("admin", "rita", "sam")
    passwords = {n: (tmp_path / f"{n}_password").read_text().strip() for n in names}
    assert len(set(passwords.values())) == 3
    for name, password in passwords.items():
        assert users.get(username=name).check_password(password)
        assert mode(tmp_path / f"{name}_password") == 0o600
    for reader in ("rita", "sam"):
        assert not users.get(username=reader).check_password(passwords["admin"])


def test_make_run_prints_the_readers_passwords():
    script = (REPO / "scripts" / "run.sh").read_text()
    for name in ("admin", "rita", "sam"):
        assert f"$(cat var/{name}_password)" in script
