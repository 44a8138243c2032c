"""Hostile cases against a signed-off case: nobody adds or removes readers, gives a read back,
labels, undoes or adjudicates until a lead reopens it. Each attempt answers 409 (or 403) and
leaves nothing behind; the signed record stays what was signed."""

from __future__ import annotations

import json

import pytest

from allreview.audit.models import AuditEvent
from allreview.cases.models import Case, CaseStatus, Label, LabelKind
from allreview.review.models import CaseReader, SignedCell
from allreview.review.services.labels import labels_set_bulk
from allreview.review.services.signoff import case_reopen, case_sign_off
from allreview.training.selectors import final_labelled_cells
from tests.factories import LabelFactory, MembershipFactory, UserFactory
from tests.helpers import cell_ids


@pytest.fixture
def signed(double_read, dora, erin):
    """READY-1 read by dora and erin (blinded), who agree on every cell; dora signed it off."""
    values = dict.fromkeys(cell_ids(double_read), "hem")
    labels_set_bulk(case=double_read, user=dora, values=values)
    labels_set_bulk(case=double_read, user=erin, values=values)
    case_sign_off(case=double_read, user=dora)
    double_read.refresh_from_db()
    return double_read


def state(case) -> tuple:
    """Everything a refused write must leave as it was."""
    return (
        list(CaseReader.objects.filter(case=case).values_list("user__username", "blinded")),
        Label.objects.count(),
        AuditEvent.objects.count(),
        list(SignedCell.objects.values_list("cell_id", "label")),
        Case.objects.get(pk=case.pk).status,
    )


def test_sign_off_records_every_cell_with_its_final_label_reads_and_model_call(signed):
    rows = SignedCell.objects.filter(sign_off__case=signed).order_by("cell_id")
    assert [r.cell_id for r in rows] == cell_ids(signed)
    assert {r.label for r in rows} == {"hem"}
    assert rows[0].reads == {"dora": "hem", "erin": "hem"} and rows[0].model_label == "hem"
    assert rows[9].model_label == "all"


def test_adding_a_reader_to_a_signed_off_case_is_refused_and_leaves_nothing(
    signed, client_alice, lab_a
):
    fred = UserFactory(username="fred")
    MembershipFactory(project=lab_a, user=fred, role="reviewer")
    before = state(signed)
    response = client_alice.post(f"/cases/{signed.pk}/readers/", {"reader": fred.pk})
    assert response.status_code == 409 and "reopen" in response.content.decode()
    assert state(signed) == before
    # the final labels did not turn into None: retraining still has all ten
    assert final_labelled_cells(project=lab_a).count() == 10


def test_removing_a_reader_or_giving_a_read_back_after_sign_off_is_refused(
    signed, client_alice, client_dora, erin, dora
):
    before = state(signed)
    assert client_alice.post(f"/cases/{signed.pk}/readers/{erin.pk}/remove/").status_code == 409
    assert client_dora.post(f"/cases/{signed.pk}/readers/{dora.pk}/remove/").status_code == 409
    assert client_dora.post(f"/cases/{signed.pk}/assign/", {}).status_code == 409
    assert state(signed) == before


def test_labels_undo_and_adjudication_after_sign_off_are_refused_on_every_path(
    signed, client_dora, client_alice
):
    first = cell_ids(signed)[0]
    before = state(signed)
    form = client_dora.post(f"/cells/{first}/label/", {"value": "all"})
    assert form.status_code == 409 and "signed off" in form.content.decode()
    fetch = client_dora.post(
        f"/cases/{signed.pk}/labels/",
        json.dumps({"cells": [first], "value": "all"}),
        content_type="application/json",
    )
    assert fetch.status_code == 409
    api = client_dora.post(f"/api/v1/cells/{first}/labels/", {"value": "all"})
    assert api.status_code == 409
    adjudicate = client_alice.post(
        f"/cells/{first}/adjudicate/", {"value": "all", "seen": ""}, HTTP_ACCEPT="application/json"
    )
    assert adjudicate.status_code == 409
    assert client_dora.post(f"/cases/{signed.pk}/sign-off/").status_code == 409
    assert state(signed) == before


def test_the_signed_record_outlives_a_row_written_behind_the_services(signed, alice, lab_a):
    first = cell_ids(signed)[0]
    LabelFactory(cell_id=first, user=alice, value="all", kind=LabelKind.ADJUDICATION)
    labels = dict(final_labelled_cells(project=lab_a).values_list("pk", "final_label"))
    assert labels[first] == "hem"


def test_after_a_reopen_readers_change_again_and_a_new_sign_off_is_recorded(
    signed, alice, dora, erin, lab_a
):
    from allreview.review.services.readers import case_reader_remove

    case_reopen(case=signed, user=alice, reason="second look")
    signed.refresh_from_db()
    assert final_labelled_cells(project=lab_a).count() == 0  # open again: not training data
    case_reader_remove(case=signed, user=alice, reader=erin)
    labels_set_bulk(case=signed, user=dora, values={cell_ids(signed)[0]: "all"})
    case_sign_off(case=signed, user=dora)
    labels = dict(final_labelled_cells(project=lab_a).values_list("pk", "final_label"))
    assert labels[cell_ids(signed)[0]] == "all" and SignedCell.objects.count() == 20
    assert Case.objects.get(pk=signed.pk).status == CaseStatus.SIGNED_OFF
