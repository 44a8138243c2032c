"""Deploy scripts in bare mode on this machine: backup and restore round-trip a database and
the media files; init-env writes a usable docker/.env with fresh secrets."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "scripts" / "deploy"
ADMIN_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"


def script(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(DEPLOY / name), *args],
        env={**os.environ, "DEPLOY_MODE": "bare", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def scratch_db():
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump/pg_restore are not installed (Debian: postgresql-client)")
    name = f"allreview_backup_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def rows(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, note FROM ops_probe ORDER BY id").fetchall()


def test_backup_then_restore_brings_back_database_and_media(scratch_db, tmp_path):
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE ops_probe (id int primary key, note text)")
        conn.execute("INSERT INTO ops_probe VALUES (1, 'kept'), (2, 'also kept')")
    media = tmp_path / "media"
    (media / "cells" / "1").mkdir(parents=True)
    (media / "cells" / "1" / "a.png").write_bytes(b"\x89PNG original")
    env = {"DATABASE_URL": scratch_db, "MEDIA_ROOT": str(media), "STORAGE_BACKEND": "local"}

    made = script("backup.sh", str(tmp_path / "backups"), env=env)
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip().splitlines()[-1])
    assert {p.name for p in backup.iterdir()} == {"db.dump", "media.tar.gz", "SHA256SUMS"}

    # Damage: a row lost, a row changed, an image lost, a stray file added.
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute("DELETE FROM ops_probe WHERE id = 1")
        conn.execute("UPDATE ops_probe SET note = 'changed' WHERE id = 2")
    (media / "cells" / "1" / "a.png").unlink()
    (media / "stray.txt").write_text("not in the backup")

    restored = script("restore.sh", str(backup), env=env)
    assert restored.returncode == 0, restored.stderr
    assert rows(scratch_db) == [(1, "kept"), (2, "also kept")]
    assert (media / "cells" / "1" / "a.png").read_bytes() == b"\x89PNG original"
    assert not (media / "stray.txt").exists()


def test_restore_refuses_a_corrupted_backup(scratch_db, tmp_path):
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE ops_probe (id int primary key, note text)")
    env = {"DATABASE_URL": scratch_db, "MEDIA_ROOT": str(tmp_path / "media")}
    made = script("backup.sh", str(tmp_path / "backups"), env=env)
    backup = Path(made.stdout.strip().splitlines()[-1])
    with (backup / "db.dump").open("ab") as handle:
        handle.write(b"tampered")
    result = script("restore.sh", str(backup), env=env)
    assert result.returncode != 0 and "checksums do not match" in result.stderr


def test_init_env_writes_secrets_once(tmp_path):
    # Run a copy of the scripts in a scratch tree, so the real docker/.env is never touched.
    tree = tmp_path / "tree"
    shutil.copytree(DEPLOY, tree / "scripts" / "deploy")
    (tree / "docker").mkdir()
    shutil.copy(REPO / "docker" / ".env.example", tree / "docker" / ".env.example")
    run = ["bash", str(tree / "scripts" / "deploy" / "init-env.sh"), "allreview.lab.example"]
    first = subprocess.run(run, capture_output=True, text=True, timeout=30)
    assert first.returncode == 0, first.stderr
    values = dict(
        line.split("=", 1)
        for line in (tree / "docker" / ".env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert len(values["SECRET_KEY"]) >= 50 and len(values["POSTGRES_PASSWORD"]) == 48
    passwords = [values[k] for k in ("POSTGRES_PASSWORD", "DB_OWNER_PASSWORD", "DB_APP_PASSWORD")]
    assert all(len(p) == 48 for p in passwords) and len(set(passwords)) == 3
    assert values["ALLOWED_HOSTS"].startswith("allreview.lab.example,")
    assert values["CSRF_TRUSTED_ORIGINS"] == "https://allreview.lab.example"
    assert values["DEBUG"] == "false" and values["LOG_FORMAT"] == "json"
    assert oct((tree / "docker" / ".env").stat().st_mode & 0o777) == "0o600"
    again = subprocess.run(run, capture_output=True, text=True, timeout=30)
    assert again.returncode != 0 and "exists" in again.stderr


@pytest.mark.parametrize("name", sorted(p.name for p in DEPLOY.glob("*.sh")))
def test_scripts_parse(name):
    assert subprocess.run(["bash", "-n", str(DEPLOY / name)]).returncode == 0
