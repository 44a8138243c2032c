"""Sign-offs made before SignedCell existed get their per-cell rows from their JSON snapshot."""

from __future__ import annotations

import pytest

from tests.factories import CaseFactory, CellFactory, ModelVersionFactory, UserFactory
from tests.review.test_readers_migration import migrate

BEFORE = [("review", "0002_readers"), ("cases", "0003_label_requests")]
AFTER = [("review", "0003_signed_cells")]


@pytest.mark.django_db(transaction=True)
def test_existing_sign_offs_are_backfilled_from_their_snapshot_and_the_labels(lab_a):
    case = CaseFactory(project=lab_a, status="signed_off")
    version = ModelVersionFactory()
    cells = CellFactory.create_for_case(case, 2, model_version=version)
    dora = UserFactory(username="dora")
    try:
        old = migrate(BEFORE)
        old.get_model("cases", "Label").objects.create(
            cell_id=cells[0].pk, user_id=dora.pk, value="hem"
        )
        old.get_model("review", "SignOff").objects.create(
            case_id=case.pk,
            user_id=dora.pk,
            model_version_id=version.pk,
            snapshot={"labels": {str(cells[0].pk): "hem", str(cells[1].pk): None}},
        )
        new = migrate(AFTER)
        rows = new.get_model("review", "SignedCell").objects.order_by("cell_id")
        assert [(r.cell_id, r.label, r.model_label, r.reads) for r in rows] == [
            (cells[0].pk, "hem", "hem", {"dora": "hem"}),
            (cells[1].pk, "", "hem", {}),
        ]
    finally:
        migrate(None)
