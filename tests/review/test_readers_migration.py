"""The one-reader CaseAssignment rows become CaseReader rows (first reader, unblinded)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import CaseFactory, UserFactory

BEFORE = [("review", "0001_initial")]
AFTER = [("review", "0002_readers")]


def migrate(targets: list[tuple[str, str]] | None):
    """Migrate to `targets`; None: to the newest migration of every app (later tests need it)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_each_assignment_becomes_the_cases_unblinded_reader(lab_a):
    case = CaseFactory(project=lab_a)
    dora, alice = UserFactory(username="dora"), UserFactory(username="alice")
    try:
        old = migrate(BEFORE)
        old.get_model("review", "CaseAssignment").objects.create(
            case_id=case.pk, user_id=dora.pk, assigned_by_id=alice.pk
        )
        new = migrate(AFTER)
        rows = new.get_model("review", "CaseReader").objects.values_list(
            "case_id", "user_id", "assigned_by_id", "blinded"
        )
        assert list(rows) == [(case.pk, dora.pk, alice.pk, False)]
    finally:
        migrate(None)
