"""The many-reviewers load test (scripts/bench/load_review.py), run for a few seconds with two
reviewers so it cannot rot: gunicorn on the production config, locust, and the database counted
against what locust sent. It checks counts, not times."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.ops.procs import free_port, production_env
from tests.paths import CNMC_DIR, REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not (CNMC_DIR / "labels.csv").exists(), reason="no C-NMC cells here"),
]


def _load_review() -> ModuleType:
    path = REPO / "scripts" / "bench" / "load_review.py"
    spec = importlib.util.spec_from_file_location("load_review", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["load_review"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


load_review = _load_review()


@pytest.fixture
def two_reviewers(db) -> object:
    return load_review.fixture_create(
        reviewers=2, cases_per_reviewer=1, cells_per_case=16, shared_cells=8, cnmc_dir=CNMC_DIR
    )


def test_two_reviewers_through_gunicorn_every_relabel_counted_once(
    two_reviewers, tmp_path: Path, settings
):
    fixture = two_reviewers
    env = load_review.server_env(
        production_env(tmp_path, Path(settings.MEDIA_ROOT)),
        port=free_port(),
        web_concurrency=1,
        threads=2,
    )
    with load_review.gunicorn(env, tmp_path) as server:
        run = load_review.locust_run(
            base_url=server.url,
            fixture_path=fixture.write(tmp_path / "fixture.json"),
            out=tmp_path,
            name="smoke",
            users=2,
            duration_s=6,
            think=(0.05, 0.2),
        )

    figures = load_review.report(run)
    assert figures["unexpected"] == 0, figures["first_unexpected"]
    assert {"login", "case page", "relabel", "thumbnail pack", "cell panel"} <= set(
        figures["by_name"]
    )
    check = load_review.ledger_check(fixture, [run.ledger])
    assert check.problems == []
    assert check.acked_writes >= 5
    assert check.label_rows == check.expected_labels == check.audit_events
    assert check.label_requests == check.acked_writes


def test_the_count_finds_a_doubled_a_lost_and_an_overwritten_label(
    two_reviewers, django_user_model
):
    from allreview.cases.models import Cell, Label
    from allreview.review.services.labels import labels_set_bulk

    fixture = two_reviewers
    account = fixture.reviewers[0]
    user = django_user_model.objects.get(username=account["username"])
    cell = Cell.objects.filter(case_id=account["cases"][0]).order_by("pk").first()
    batch = labels_set_bulk(
        case=cell.case, user=user, values={cell.pk: "hem"}, seen={cell.pk: None}, request_id="r1"
    )
    write = {
        "user": user.username,
        "retry": False,
        "status": 201,
        "request_id": "r1",
        "batch": batch.batch,
        "changes": [{"cell": cell.pk, "before": None, "after": "hem"}],
    }
    assert load_review.ledger_check(fixture, [{"writes": [write]}]).problems == []

    # Answered as replacing "all" while the cell had no label: an update was lost in between.
    told = {**write, "changes": [{"cell": cell.pk, "before": "all", "after": "hem"}]}
    problems = load_review.ledger_check(fixture, [{"writes": [told]}]).problems
    assert any("replaced None but answered 'all'" in p for p in problems)

    Label.objects.create(cell=cell, user=user, value="all")  # saved, but nobody was told
    problems = load_review.ledger_check(fixture, [{"writes": [write]}]).problems
    assert any("no acknowledged write accounts for" in p for p in problems)

    lost = {**write, "request_id": "r2", "batch": "f" * 32}  # answered 201, never saved
    problems = load_review.ledger_check(fixture, [{"writes": [write, lost]}]).problems
    assert any("not in the database (r2)" in p for p in problems)
