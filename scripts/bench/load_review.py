"""Many reviewers at once: a load test of the production web server (issue 12, item 6).

    nice -n 10 .venv/bin/python scripts/bench/load_review.py [--users 20] [--duration 300]

One command: a fresh PostgreSQL database, a project with one reviewer account per user, cases of
real C-NMC cells (taken by their reviewer) and one case they all share, gunicorn with
`docker/gunicorn.conf.py` on the real settings (DEBUG off, PostgreSQL, Redis), then locust
(headless, loopback only, bounded in time) with reviewers who open cases, page galleries and
relabel (`load_review_locustfile.py`). Afterwards it counts the database against what locust
sent: every acknowledged relabel saved exactly once, every refused one not at all, each write
replacing the label that really was current (no lost update), one audit event per label. It
prints the figures, stops everything and drops the database (unless --keep). A shorter run
with one reviewer first (--baseline-duration) gives the uncontended figures of the same server.

Targets: relabel p95 <= 100 ms, no unexpected response, no lost or doubled label. Exit status
0 when the counts hold and (unless --no-time-targets) the targets are met.

Fixture predictions: the cases carry model calls drawn from a seeded random generator under a
model version named `load-fixture-...`; no model runs here. The web tier is what is measured.
The two deviations from a server: plain HTTP on loopback (so the session and CSRF cookies are
not marked Secure; the TLS proxy's job) and a single database role (the superuser of the local
PostgreSQL; the append-only triggers still bind it).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).with_name("load_review_locustfile.py")
CNMC_DIR = Path(os.environ.get("CNMC_DIR", REPO.parent / "shared" / "data" / "cnmc"))
ADMIN_DSN = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
RELABELS = ("relabel", "relabel (shared case)", "relabel (retry)")
P95_TARGET_MS = 100.0


# --- The fixture: accounts and cases of real cells ------------------------------------------------


@dataclass
class Fixture:
    project_id: int
    reviewers: list[dict[str, Any]]  # username, password, cases (ids, own first)
    shared_case: int
    cells: int

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self)))
        path.chmod(0o600)  # it holds the throwaway accounts' passwords
        return path

    @property
    def usernames(self) -> list[str]:
        return [r["username"] for r in self.reviewers]


def cnmc_cells(cnmc_dir: Path) -> list[tuple[Path, str]]:
    """Every cell of the C-NMC folder with its label, in the order of labels.csv."""
    with (cnmc_dir / "labels.csv").open(newline="") as listing:
        return [(cnmc_dir / row["file"], row["label"]) for row in csv.DictReader(listing)]


def fixture_create(
    *,
    reviewers: int,
    cases_per_reviewer: int,
    cells_per_case: int,
    shared_cells: int,
    cnmc_dir: Path = CNMC_DIR,
    seed: int = 12,
) -> Fixture:
    """A project, its reviewers (each taking their own cases) and a free case all of them may
    label, uploaded through the ingest service from the real cells, with fixture calls."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from allreview.projects.models import Membership, Project, Role
    from allreview.review.services.readers import case_assign

    rng = random.Random(seed)
    cells = cnmc_cells(cnmc_dir)
    suffix = secrets.token_hex(3)
    project = Project.objects.create(name=f"Load lab {suffix}")
    version = _fixture_model_version(project, suffix)
    hasher = PBKDF2PasswordHasher()  # what a production server checks, whatever this process uses
    lead = get_user_model().objects.create(username=f"load-lead-{suffix}")
    Membership.objects.create(project=project, user=lead, role=Role.ADJUDICATOR)
    cursor = 0

    def next_case(code: str, n: int) -> int:
        nonlocal cursor
        chosen = [cells[(cursor + i) % len(cells)] for i in range(n)]
        cursor += n
        return _fixture_case(project, lead, version, code, chosen, rng)

    accounts: list[dict[str, Any]] = []
    for number in range(1, reviewers + 1):
        password = secrets.token_urlsafe(16)
        user = get_user_model().objects.create(
            username=f"load-reviewer{number:02d}-{suffix}",
            password=hasher.encode(password, hasher.salt()),
        )
        Membership.objects.create(project=project, user=user, role=Role.REVIEWER)
        own = [
            next_case(f"LOAD-{number:02d}-{k}", cells_per_case) for k in range(cases_per_reviewer)
        ]
        for case_id in own:
            case_assign(case=_case(case_id), user=user, assignee=user)  # the worklist's Take
        accounts.append({"username": user.get_username(), "password": password, "cases": own})
    shared = next_case("LOAD-SHARED", shared_cells)
    total = reviewers * cases_per_reviewer * cells_per_case + shared_cells
    return Fixture(project.pk, accounts, shared, total)


def _case(case_id: int) -> Any:
    from allreview.cases.models import Case

    return Case.objects.get(pk=case_id)


def _fixture_model_version(project: Any, suffix: str) -> Any:
    from allreview.mlmodels.models import ModelVersion

    return ModelVersion.objects.create(
        name=f"load-fixture-{suffix}",
        project=project,
        profile="fixture",
        architecture="none: calls drawn at random for the load test",
        notes="Load-test fixture; no model produced these calls.",
    )


def _fixture_case(
    project: Any, lead: Any, version: Any, code: str, cells: list[tuple[Path, str]], rng: Any
) -> int:
    """Upload the cells as the lead (the real ingest path), then give them calls as if a worker
    had classified the case."""
    from django.utils import timezone

    from allreview.cases.ingest import IncomingFile
    from allreview.cases.models import Case, CaseStatus, Cell, Prediction
    from allreview.cases.services import case_upload

    files = [IncomingFile(path.name, path=str(path), truth=truth) for path, truth in cells]
    case = case_upload(project=project, user=lead, patient_code=code, files=files)
    predictions = []
    for cell_id in Cell.objects.filter(case=case).order_by("pk").values_list("pk", flat=True):
        probability = rng.random()
        predictions.append(
            Prediction(
                cell_id=cell_id,
                model_version=version,
                probability=probability,
                label="all" if probability >= 0.5 else "hem",
                uncertainty=rng.random() * 0.2,
            )
        )
    Prediction.objects.bulk_create(predictions)
    Case.objects.filter(pk=case.pk).update(
        status=CaseStatus.READY,
        model_version=version,
        progress_done=len(predictions),
        progress_total=len(predictions),
        classified_at=timezone.now(),
    )
    return case.pk


# --- The server and the load ------------------------------------------------------------------------


def server_env(
    base: dict[str, str], *, port: int, web_concurrency: int, threads: int
) -> dict[str, str]:
    """The production settings as given, on loopback over plain HTTP: no TLS here, so no redirect
    and no Secure flag on the cookies (the lab's TLS proxy adds what a browser needs)."""
    return {
        **base,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(web_concurrency),
        "GUNICORN_THREADS": str(threads),
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "PYTHONUNBUFFERED": "1",
    }


def _ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/readyz", timeout=5) as reply:
            return reply.status == 200
    except OSError:
        return False


@dataclass(frozen=True)
class Server:
    url: str
    pid: int  # gunicorn's master


@contextmanager
def gunicorn(env: dict[str, str], out: Path, *, boot_timeout: float = 120) -> Iterator[Server]:
    """collectstatic (DEBUG off serves the hashed files), then gunicorn with the compose file's
    config; stopped (TERM, then KILL) on the way out, whatever happened."""
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if collected.returncode != 0:
        raise RuntimeError(f"collectstatic failed:\n{collected.stderr[-3000:]}")
    log = (out / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "docker/gunicorn.conf.py",
         "allreview.wsgi:application"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base_url = "http://" + env["GUNICORN_BIND"]
    try:
        deadline = time.monotonic() + boot_timeout
        while not _ready(base_url):
            if process.poll() is not None or time.monotonic() > deadline:
                text = (out / "gunicorn.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"gunicorn did not become ready:\n{text}")
            time.sleep(0.5)
        yield Server(base_url, process.pid)
    finally:
        _stop(process)
        log.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _stat_fields(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process, its reaped children (recycled gunicorn workers) and its live
    children, from /proc."""
    fields = _stat_fields(pid)
    ticks = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            ticks += sum(int(x) for x in _stat_fields(child)[11:13])
        except FileNotFoundError:  # exited between the two reads
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


@dataclass
class LoadRun:
    users: int
    duration_s: float
    ledger: dict[str, Any]
    server_cpu_s: float = 0.0  # gunicorn (master and workers) during the run
    locust_cpu_s: float = 0.0
    machine_busy: float = 0.0  # share of all cores busy with anything, everyone's work included


def locust_run(
    *,
    base_url: str,
    fixture_path: Path,
    out: Path,
    name: str,
    users: int,
    duration_s: int,
    think: tuple[float, float] = (0.5, 2.0),
    seed: int = 12,
    server_pid: int | None = None,
) -> LoadRun:
    """locust, headless, against base_url for duration_s; bounded by a hard timeout besides."""
    ledger = out / f"{name}-ledger.json"
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}} | {
        "LOADTEST_FIXTURE": str(fixture_path),
        "LOADTEST_LEDGER": str(ledger),
        "LOADTEST_SEED": str(seed),
        "LOADTEST_THINK_MIN": str(think[0]),
        "LOADTEST_THINK_MAX": str(think[1]),
    }
    args = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", base_url, "--users", str(users), "--spawn-rate", str(max(1, users // 4)),
        "--run-time", f"{duration_s}s", "--stop-timeout", "30", "--only-summary",
        "--loglevel", "WARNING", "--exit-code-on-error", "0", "--skip-log-setup",
    ]  # fmt: skip
    started = time.monotonic()
    server_cpu = process_tree_cpu_s(server_pid) if server_pid else 0.0
    locust_cpu = _children_cpu_s()
    busy, total = machine_cpu()
    with (out / f"{name}-locust.log").open("wb") as log:
        finished = subprocess.run(
            args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            timeout=duration_s + 120,
        )  # fmt: skip
    if finished.returncode != 0 or not ledger.exists():
        text = (out / f"{name}-locust.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"locust failed (exit {finished.returncode}):\n{text}")
    busy_after, total_after = machine_cpu()
    return LoadRun(
        users,
        time.monotonic() - started,
        json.loads(ledger.read_text()),
        server_cpu_s=process_tree_cpu_s(server_pid) - server_cpu if server_pid else 0.0,
        locust_cpu_s=_children_cpu_s() - locust_cpu,
        machine_busy=(busy_after - busy) / max(1, total_after - total),
    )


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- What the database holds against what locust sent -----------------------------------------------


@dataclass
class LedgerCheck:
    acked_writes: int = 0  # relabels answered 201
    refused_writes: int = 0  # stale views on the shared case, answered 409
    replays: int = 0  # the same request id sent again, answered 200 with the first save
    expected_labels: int = 0  # cells in the acknowledged writes
    label_rows: int = 0  # Label rows of the load's reviewers in the database
    label_requests: int = 0
    audit_events: int = 0
    problems: list[str] = field(default_factory=list)


def ledger_check(fixture: Fixture, ledgers: list[dict[str, Any]]) -> LedgerCheck:
    """Count the database against the ledgers (every run against this fixture, in order)."""
    from django.contrib.auth import get_user_model

    from allreview.audit.models import AuditEvent
    from allreview.cases.models import Label
    from allreview.review.models import LabelRequest

    users = dict(
        get_user_model()
        .objects.filter(username__in=fixture.usernames)
        .values_list("username", "pk")
    )
    writes = [w for ledger in ledgers for w in ledger["writes"]]
    first = [w for w in writes if not w["retry"]]
    acked = [w for w in first if w["status"] == 201]
    check = LedgerCheck(
        acked_writes=len(acked),
        refused_writes=sum(w["status"] == 409 for w in first),
        replays=sum(w["retry"] and w["status"] == 200 for w in writes),
        expected_labels=sum(len(w["changes"]) for w in acked),
    )
    requests = {
        (r.user_id, r.request_id): r
        for r in LabelRequest.objects.filter(user_id__in=users.values())
    }
    labels = {label.pk: label for label in Label.objects.filter(user_id__in=users.values())}
    check.label_rows, check.label_requests = len(labels), len(requests)
    check.audit_events = AuditEvent.objects.filter(
        action="label.set", actor_id__in=users.values()
    ).count()
    claimed = _acked_saved_once(acked, users, requests, labels, check.problems)
    for w in first:
        if w["status"] != 201 and (users[w["user"]], w["request_id"]) in requests:
            check.problems.append(f"a write answered {w['status']} was saved ({w['request_id']})")
    for w in writes:
        if w["retry"] and not (w["status"] == 200 and w["replayed"]):
            check.problems.append(f"a retried request was not replayed ({w['request_id']})")
    stray = sorted(set(labels) - claimed)
    if stray:
        check.problems.append(f"{len(stray)} label rows no acknowledged write accounts for")
    if len(requests) != len(acked):
        check.problems.append(f"{len(requests)} request records for {len(acked)} saved writes")
    if check.audit_events != check.label_rows:
        check.problems.append(f"{check.audit_events} audit events for {check.label_rows} labels")
    check.problems.extend(_lost_updates(acked, users, requests))
    return check


def _acked_saved_once(
    acked: list[dict[str, Any]],
    users: dict[str, int],
    requests: dict[tuple[int, str], Any],
    labels: dict[int, Any],
    problems: list[str],
) -> set[int]:
    """Each 201 is one request record with the batch answered and one Label per change, holding
    the value answered; returns the label ids so accounted for (a doubled one is a problem)."""
    claimed: set[int] = set()
    for w in acked:
        record = requests.get((users[w["user"]], w["request_id"]))
        if record is None or record.batch != w["batch"]:
            problems.append(f"an acknowledged write is not in the database ({w['request_id']})")
            continue
        rows = [labels.get(pk) for pk in record.labels]
        saved = sorted((r.cell_id, r.value) for r in rows if r is not None)
        answered = sorted((c["cell"], c["after"]) for c in w["changes"])
        if saved != answered:
            problems.append(f"write {w['request_id']} saved {saved}, answered {answered}")
        if claimed & set(record.labels):
            problems.append(f"label rows of write {w['request_id']} counted twice")
        claimed.update(record.labels)
    return claimed


def _lost_updates(
    acked: list[dict[str, Any]], users: dict[str, int], requests: dict[tuple[int, str], Any]
) -> list[str]:
    """Each acknowledged change says which label it replaced; in the database that must be the
    cell's label just before the new row (in id order: rows are numbered under the case lock)."""
    from allreview.cases.models import Label

    answered: dict[int, str | None] = {}  # label id -> the "before" the client was told
    for w in acked:
        record = requests.get((users[w["user"]], w["request_id"]))
        if record is None:
            continue
        by_cell = {c["cell"]: c["before"] for c in w["changes"]}
        for label in Label.objects.filter(pk__in=record.labels).values("pk", "cell_id"):
            answered[label["pk"]] = by_cell.get(label["cell_id"])
    cells = Label.objects.filter(pk__in=answered).values_list("cell_id", flat=True).distinct()
    history: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for pk, cell_id, value in (
        Label.objects.filter(cell_id__in=list(cells))
        .order_by("pk")
        .values_list("pk", "cell_id", "value")
    ):
        history[cell_id].append((pk, value))
    problems = []
    for rows in history.values():
        previous: str | None = None
        for pk, value in rows:
            if pk in answered and answered[pk] != previous:
                problems.append(f"label {pk} replaced {previous!r} but answered {answered[pk]!r}")
            previous = value or None
    return problems


# --- Figures ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    n: int
    p50: float
    p95: float
    p99: float
    max: float
    unexpected: int


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted samples."""
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latencies(samples: list[list[Any]], names: tuple[str, ...] | None = None) -> Latency:
    chosen = [s for s in samples if names is None or s[0] in names]
    ordered = sorted(s[2] for s in chosen)
    if not ordered:
        return Latency(0, 0.0, 0.0, 0.0, 0.0, 0)
    return Latency(
        n=len(ordered),
        p50=statistics.median(ordered),
        p95=percentile(ordered, 0.95),
        p99=percentile(ordered, 0.99),
        max=ordered[-1],
        unexpected=sum(not s[3] for s in chosen),
    )


def throughput(samples: list[list[Any]]) -> float:
    """Requests per second between the first request's start and the last one's end."""
    if len(samples) < 2:
        return 0.0
    start = min(s[1] for s in samples)
    end = max(s[1] + s[2] / 1000 for s in samples)
    return len(samples) / max(end - start, 1e-9)


def report(run: LoadRun) -> dict[str, Any]:
    samples = run.ledger["samples"]
    names = sorted({s[0] for s in samples})
    return {
        "users": run.users,
        "requests": len(samples),
        "requests_per_s": round(throughput(samples), 1),
        "unexpected": sum(not s[3] for s in samples),
        "relabel_all": asdict(latencies(samples, RELABELS)),
        "by_name": {n: asdict(latencies(samples, (n,))) for n in names},
        "first_unexpected": run.ledger.get("unexpected", [])[:5],
        "server_cores": round(run.server_cpu_s / run.duration_s, 2),
        "server_cpu_ms_per_request": round(1000 * run.server_cpu_s / max(1, len(samples)), 1),
        "locust_cores": round(run.locust_cpu_s / run.duration_s, 2),
        "machine_busy": round(run.machine_busy, 3),
    }


def print_report(title: str, figures: dict[str, Any]) -> None:
    print(f"\n{title}: {figures['users']} users, {figures['requests']} requests, "
          f"{figures['requests_per_s']} requests/s, {figures['unexpected']} unexpected")  # fmt: skip
    print(
        f"  {'request':<24}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'bad':>5}"
    )
    rows = [("relabel (all writes)", figures["relabel_all"]), *figures["by_name"].items()]
    for name, lat in rows:
        print(f"  {name:<24}{lat['n']:>7}{lat['p50']:>9.1f}{lat['p95']:>9.1f}"
              f"{lat['p99']:>9.1f}{lat['max']:>9.1f}{lat['unexpected']:>5}")  # fmt: skip
    print(f"  CPU: gunicorn {figures['server_cores']} cores "
          f"({figures['server_cpu_ms_per_request']} ms a request), locust "
          f"{figures['locust_cores']} cores; all {os.cpu_count()} cores "
          f"{100 * figures['machine_busy']:.0f}% busy (everyone's work)")  # fmt: skip
    for line in figures["first_unexpected"]:
        print(f"  unexpected: {line}")


# --- The command -------------------------------------------------------------------------------------


def _database(name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def _base_env(args: argparse.Namespace, work: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return keep | {
        "DJANGO_SETTINGS_MODULE": "allreview.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"postgres://postgres:postgres@127.0.0.1:5432/{args.db_name}",
        "CELERY_BROKER_URL": args.broker_url,
        "ALLREVIEW_VAR_DIR": str(work / "var"),
        "MEDIA_ROOT": str(work / "media"),
        "STATIC_ROOT": str(work / "static"),
        "LOG_LEVEL": "WARNING",  # the access log of a 5-minute run is not what is measured
    }


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=int, default=300, help="seconds of load")
    parser.add_argument("--baseline-duration", type=int, default=30,
                        help="seconds with one reviewer first (0: none)")  # fmt: skip
    parser.add_argument("--cases-per-reviewer", type=int, default=2)
    parser.add_argument("--cells-per-case", type=int, default=120)
    parser.add_argument("--shared-cells", type=int, default=100)
    parser.add_argument("--think", type=float, nargs=2, default=(0.5, 2.0),
                        metavar=("MIN", "MAX"), help="seconds between a reviewer's actions")  # fmt: skip
    parser.add_argument("--web-concurrency", type=int, default=3, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per process")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db-name", default="allreview_load")
    parser.add_argument("--broker-url",
                        default=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))  # fmt: skip
    parser.add_argument("--cnmc", type=Path, default=CNMC_DIR)
    parser.add_argument("--out", type=Path, help="keep logs, ledgers and figures here")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--no-time-targets", action="store_true",
                        help="judge the counts only (the smoke test)")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.cnmc / "labels.csv").exists():
        print(f"no C-NMC cells at {args.cnmc} (set --cnmc or CNMC_DIR)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="allreview-load-"))
    out = args.out or work
    out.mkdir(parents=True, exist_ok=True)
    load_before = _load_average()
    _database(args.db_name)
    try:
        base = _base_env(args, work)
        # The fixture's uploads queue classification: to an in-process broker, never to a
        # Redis a worker listens on (the cases already have their fixture calls).
        _setup_django(base | {"CELERY_BROKER_URL": "memory://"})
        started = time.monotonic()
        fixture = fixture_create(
            reviewers=args.users,
            cases_per_reviewer=args.cases_per_reviewer,
            cells_per_case=args.cells_per_case,
            shared_cells=args.shared_cells,
            cnmc_dir=args.cnmc,
        )
        print(f"fixture: {args.users} reviewers, {fixture.cells} real C-NMC cells in "
              f"{args.users * args.cases_per_reviewer + 1} cases, "
              f"{time.monotonic() - started:.0f} s")  # fmt: skip
        fixture_path = fixture.write(work / "fixture.json")
        env = server_env(
            base, port=args.port, web_concurrency=args.web_concurrency, threads=args.threads
        )
        runs: list[tuple[str, LoadRun]] = []
        with gunicorn(env, out) as server:
            common = {"base_url": server.url, "fixture_path": fixture_path, "out": out,
                      "think": tuple(args.think), "server_pid": server.pid}  # fmt: skip
            if args.baseline_duration:
                runs.append(("baseline", locust_run(
                    **common, name="baseline", users=1, duration_s=args.baseline_duration)))  # fmt: skip
            runs.append(("load", locust_run(
                **common, name="load", users=args.users, duration_s=args.duration)))  # fmt: skip
        return _conclude(args, fixture, runs, out, load_before)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _database(args.db_name, drop_only=True)
        shutil.rmtree(work / "media", ignore_errors=True)
        if args.out is None:
            shutil.rmtree(work, ignore_errors=True)


def _conclude(
    args: argparse.Namespace,
    fixture: Fixture,
    runs: list[tuple[str, LoadRun]],
    out: Path,
    load_before: str,
) -> int:
    check = ledger_check(fixture, [run.ledger for _, run in runs])
    figures = {name: report(run) for name, run in runs}
    for name, run in runs:
        print_report(f"{name} ({run.duration_s:.0f} s)", figures[name])
    print(f"\ndatabase: {check.acked_writes} relabels saved (201), {check.refused_writes} "
          f"refused on a stale view (409), {check.replays} retries replayed (200); "
          f"{check.label_rows} label rows for {check.expected_labels} labelled cells, "
          f"{check.label_requests} request records, {check.audit_events} audit events")  # fmt: skip
    for problem in check.problems[:20]:
        print(f"  PROBLEM: {problem}")
    load = figures["load"]
    p95 = load["relabel_all"]["p95"]
    print(f"\nload average before {load_before}, after {_load_average()} "
          f"({os.cpu_count()} cores, shared)")  # fmt: skip
    if "baseline" in figures:
        base95 = figures["baseline"]["relabel_all"]["p95"]
        print(f"relabel p95 {p95:.1f} ms with {args.users} users vs {base95:.1f} ms with one "
              f"({p95 / base95:.2f}x)" if base95 else "")  # fmt: skip
    met = load["relabel_all"]["n"] > 0 and p95 <= P95_TARGET_MS and load["unexpected"] == 0
    print(f"targets: relabel p95 {p95:.1f} ms (<= {P95_TARGET_MS:.0f}), "
          f"{load['unexpected']} unexpected responses, {len(check.problems)} count problems: "
          f"{'met' if met and not check.problems else 'MISSED'}")  # fmt: skip
    (out / "load_review.json").write_text(
        json.dumps({"figures": figures, "check": asdict(check), "args": vars(args)}, default=str)
    )
    if check.problems or any(f["unexpected"] for f in figures.values()):
        return 1
    return 0 if met or args.no_time_targets else 1


if __name__ == "__main__":
    sys.exit(main())
