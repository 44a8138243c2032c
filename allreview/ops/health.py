"""Health checks: is this process alive, and can it serve (database, broker, production model)?

Each check returns a CheckResult; a report is ready unless a check failed. A missing production
model is a warning, not a failure: the site works and cases wait until one is promoted.
Details name what is wrong (an exception's type, a model's name), never a secret or a patient.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str = ""
    ms: float = 0.0


@dataclass(frozen=True)
class HealthReport:
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    def as_dict(self, *, public: bool = False) -> dict[str, object]:
        """`public` for the HTTP probes, which anyone who reaches the server can read: the
        model check says how the model is, not which model a lab runs."""
        checks = {check.name: asdict(check) for check in self.checks}
        if public:
            for name, generic in PUBLIC_DETAILS.items():
                if name in checks:
                    checks[name]["detail"] = generic[checks[name]["status"]]
        return {"status": "ok" if self.ok else "fail", "checks": checks}


PUBLIC_DETAILS: dict[str, dict[str, str]] = {
    "model": {
        "ok": "production model available",
        "warn": "no production model; cases wait for one",
        "fail": "production model not available",
    },
}


# Once this process has seen every migration applied, it stays so: skip the graph walk after.
_migrated: set[str] = set()


def check_database() -> CheckResult:
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return CheckResult("database", "ok", connection.vendor)


def check_migrations() -> CheckResult:
    """Not ready before migrate-on-deploy has run: old schema, new code is a broken page."""
    if DEFAULT_DB_ALIAS in _migrated:
        return CheckResult("migrations", "ok", "all applied")
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return CheckResult("migrations", "fail", f"{len(plan)} unapplied; run migrate")
    _migrated.add(DEFAULT_DB_ALIAS)
    return CheckResult("migrations", "ok", "all applied")


def check_broker() -> CheckResult:
    from allreview.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)
        transport = conn.transport_cls
    return CheckResult("broker", "ok", str(transport))


def check_model(*, load: bool = False) -> CheckResult:
    """The production model: its checkpoint is in storage (loadable) or, in a worker that has
    classified since promotion, already in memory (loaded). `load` loads it here and now."""
    from allreview.mlmodels import runtime
    from allreview.mlmodels.selectors import model_version_production

    version = model_version_production()
    if version is None:
        return CheckResult("model", "warn", "no production model; cases wait for one")
    if not default_storage.exists(version.checkpoint.name):
        return CheckResult("model", "fail", f"checkpoint of {version.name} is missing")
    if load:
        runtime.predictor_for(version)
    loaded = runtime.is_loaded(version)
    return CheckResult("model", "ok", f"{version.name} {'loaded' if loaded else 'loadable'}")


def run_check(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    """Run one check, timing it; an exception is a failure named by its type only."""
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # a probe reports, it never raises
        result = CheckResult(name, "fail", type(exc).__name__)
    ms = round((time.perf_counter() - started) * 1000, 1)
    return CheckResult(result.name, result.status, result.detail, ms)


CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": check_database,
    "migrations": check_migrations,
    "broker": check_broker,
    "model": check_model,
}


def readiness(names: list[str] | None = None) -> HealthReport:
    """Run the named checks (all by default), the cheap ones first."""
    chosen = names or list(CHECKS)
    return HealthReport([run_check(name, CHECKS[name]) for name in chosen])


def liveness() -> HealthReport:
    """The process answers; nothing outside it is touched, so a database outage does not make
    an orchestrator restart healthy web servers."""
    return HealthReport([CheckResult("process", "ok")])
