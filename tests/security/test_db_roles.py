"""The app's database role cannot rewrite the record, even with raw SQL.

A scratch database gets the two roles from scripts/deploy/db_roles.sql (run by psql as a
superuser, as an operator would), is migrated by `migrate_locked` as the owner through
MIGRATION_DATABASE_URL, and is then used as the app role: it reads and writes ordinary rows, but
UPDATE, DELETE, TRUNCATE and ALTER TABLE ... DISABLE TRIGGER on every append-only table are
refused by PostgreSQL itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from allreview.lib.appendonly import append_only_tables

REPO = Path(__file__).resolve().parents[2]
SUPERUSER = "postgresql://postgres:postgres@127.0.0.1:5432"
APPEND_ONLY = [
    "audit_auditevent",
    "cases_label",
    "fields_detectionreview",
    "mlmodels_deployment",
    "quality_referencelabel",
    "quality_referenceplacement",
    "review_casereopening",
    "review_signedcell",
    "review_signoff",
]
pytestmark = pytest.mark.slow


def url(user: str, password: str, db: str) -> str:
    return f"postgresql://{user}:{password}@127.0.0.1:5432/{db}"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def deployed():
    """A database set up as docs/deployment.md says: roles, then migrate as the owner."""
    if not shutil.which("psql"):
        pytest.skip("psql is not installed (Debian: postgresql-client)")
    tag = uuid.uuid4().hex[:8]
    db, owner, app = f"allreview_roles_{tag}", f"ar_owner_{tag}", f"ar_app_{tag}"
    with psycopg.connect(f"{SUPERUSER}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db}")
    # What an install that ran as the superuser leaves behind: the script hands it to the owner.
    with psycopg.connect(f"{SUPERUSER}/{db}", autocommit=True) as conn:
        conn.execute("CREATE TABLE legacy_probe (id serial PRIMARY KEY, note text)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))}
    try:
        made = run(
            [
                "psql", f"{SUPERUSER}/postgres", "-q",
                "-v", f"dbname={db}", "-v", f"owner={owner}", "-v", "owner_password=ownerpw",
                "-v", f"app={app}", "-v", "app_password=apppw",
                "-f", "scripts/deploy/db_roles.sql",
            ],
            env,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        migrated = run(
            [sys.executable, "manage.py", "migrate_locked", "--verbosity", "0"],
            {
                **env,
                "SECRET_KEY": "test-only-secret-key-for-the-roles-test-0123456789",
                "DATABASE_URL": url(app, "apppw", db),
                "MIGRATION_DATABASE_URL": url(owner, "ownerpw", db),
                "DATABASE_APP_ROLE": app,
            },
        )
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        yield {"db": db, "owner": owner, "app": app, "env": env}
    finally:
        with psycopg.connect(f"{SUPERUSER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            for role in (app, owner):
                conn.execute(f"DROP ROLE IF EXISTS {role}")


def as_app(deployed) -> psycopg.Connection:
    return psycopg.connect(url(deployed["app"], "apppw", deployed["db"]), autocommit=True)


def test_the_owner_owns_every_table_and_the_app_role_none(deployed):
    with psycopg.connect(f"{SUPERUSER}/{deployed['db']}") as conn:
        owners = dict(
            conn.execute("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'")
        )
    assert owners["legacy_probe"] == deployed["owner"]
    assert owners["review_signoff"] == deployed["owner"]
    assert set(owners.values()) == {deployed["owner"]}


def test_the_app_role_reads_and_writes_ordinary_rows(deployed):
    with as_app(deployed) as conn:
        conn.execute("INSERT INTO projects_project (name, description, blind_second_reads, "
                     "blind_model_call, created_at) VALUES ('Roles lab', '', true, false, now())")  # fmt: skip
        conn.execute("UPDATE projects_project SET description = 'x' WHERE name = 'Roles lab'")
        conn.execute("DELETE FROM projects_project WHERE name = 'Roles lab'")
        conn.execute(
            "INSERT INTO audit_auditevent (created_at, action, target_type, target_id) "
            "VALUES (now(), 'roles.probe', '', '')"
        )
        assert conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0] >= 1


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET id = id",
        "DELETE FROM {table}",
        "TRUNCATE {table}",
        "ALTER TABLE {table} DISABLE TRIGGER ALL",
        "ALTER TABLE {table} DISABLE TRIGGER {table}_append_only",
        "DROP TABLE {table}",
    ],
)
def test_the_app_role_cannot_change_append_only_rows(deployed, table, statement):
    with as_app(deployed) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(statement.format(table=table))


def test_the_app_role_cannot_create_tables_or_functions(deployed):
    with as_app(deployed) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.sneaky (id int)")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(
                "CREATE OR REPLACE FUNCTION allreview_refuse_change() RETURNS trigger "
                "AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql"
            )


def test_the_owner_is_refused_by_the_triggers_too(deployed):
    with psycopg.connect(
        url(deployed["owner"], "ownerpw", deployed["db"]), autocommit=True
    ) as conn:
        conn.execute(
            "INSERT INTO audit_auditevent (created_at, action, target_type, target_id) "
            "VALUES (now(), 'roles.owner', '', '')"
        )
        with pytest.raises(errors.RestrictViolation):
            conn.execute("DELETE FROM audit_auditevent WHERE action = 'roles.owner'")


def test_db_roles_check_passes_for_the_app_role_and_names_a_superuser(deployed):
    base = {**deployed["env"], "SECRET_KEY": "test-only-secret-key-for-the-roles-test-0123456789"}
    app = run(
        [sys.executable, "manage.py", "db_roles", "check"],
        {**base, "DATABASE_URL": url(deployed["app"], "apppw", deployed["db"])},
    )
    assert app.returncode == 0, app.stdout + app.stderr
    superuser = run(
        [sys.executable, "manage.py", "db_roles", "check"],
        {**base, "DATABASE_URL": f"{SUPERUSER}/{deployed['db']}"},
    )
    assert superuser.returncode != 0
    assert "superuser" in superuser.stdout


def test_the_sql_script_names_every_append_only_table():
    script = (REPO / "scripts" / "deploy" / "db_roles.sql").read_text()
    named = re.search(r"tablename IN \(([^)]*)\)", script).group(1)
    assert sorted(re.findall(r"'(\w+)'", named)) == append_only_tables() == APPEND_ONLY
