"""Sign-offs and reopenings are refused UPDATE and DELETE by the database, whoever asks."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from allreview.review.models import CaseReopening, SignOff
from tests.factories import CaseFactory


@pytest.fixture
def signed(lab_a, alice) -> SignOff:
    case = CaseFactory(project=lab_a, patient_code="AO-1")
    sign_off = SignOff.objects.create(case=case, user=alice, snapshot={"cells": {}})
    CaseReopening.objects.create(case=case, sign_off=sign_off, user=alice, reason="typo")
    return sign_off


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE review_signoff SET snapshot = '{}'::jsonb",
        "DELETE FROM review_signoff",
        "UPDATE review_casereopening SET reason = 'rewritten'",
        "DELETE FROM review_casereopening",
    ],
)
def test_raw_sql_cannot_change_a_sign_off_or_a_reopening(signed, statement):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert SignOff.objects.get(pk=signed.pk).snapshot == {"cells": {}}
    assert CaseReopening.objects.get(sign_off=signed).reason == "typo"
