"""LabelRequest moves from cases to review by state alone: on a populated database its rows stay
in the same table, readable (and still unique per user and request id) through the new model,
and the move can be undone without losing them."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import CaseFactory, UserFactory
from tests.review.test_readers_migration import migrate

BEFORE = [("cases", "0006_thumbnail_pack_and_model_input"), ("review", "0003_signed_cells")]
AFTER = [("review", "0004_labelrequest_from_cases")]


def _rows(apps, app_label: str) -> list[tuple[object, ...]]:
    model = apps.get_model(app_label, "LabelRequest")
    return list(
        model.objects.order_by("id").values_list("user_id", "request_id", "case_id", "changes")
    )


@pytest.mark.django_db(transaction=True)
def test_label_requests_keep_their_rows_and_table_across_the_move(lab_a):
    case = CaseFactory(project=lab_a)
    dora = UserFactory(username="dora")
    try:
        old = migrate(BEFORE)
        old.get_model("cases", "LabelRequest").objects.create(
            user_id=dora.pk,
            request_id="req-1",
            case_id=case.pk,
            fingerprint="f" * 64,
            batch="b" * 32,
            changes=[[1, None, "all"]],
        )
        before = _rows(old, "cases")

        new = migrate(AFTER)
        assert _rows(new, "review") == before
        moved = new.get_model("review", "LabelRequest")
        assert moved._meta.db_table == "cases_labelrequest"
        with pytest.raises(IntegrityError), transaction.atomic():
            moved.objects.create(
                user_id=dora.pk,
                request_id="req-1",
                case_id=case.pk,
                fingerprint="0" * 64,
                batch="c" * 32,
                changes=[],
            )

        back = migrate(BEFORE)  # the move undone: the rows are the old model's again
        assert _rows(back, "cases") == before
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
        assert "cases_labelrequest" in tables and "review_labelrequest" not in tables
    finally:
        migrate(None)
