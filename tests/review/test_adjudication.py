"""Adjudication: cells whose readers disagree go to the queue, the adjudicator's call becomes
the final label, and sign-off and retraining read final labels only."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from allreview.audit.models import AuditEvent
from allreview.cases.models import CaseStatus, Cell, Label, LabelKind
from allreview.projects.models import Role
from allreview.review.selectors.final import final_label_subquery
from allreview.review.services.adjudication import cell_adjudicate
from allreview.review.services.labels import label_undo, labels_set_bulk
from allreview.review.services.signoff import case_sign_off
from allreview.training.selectors import final_labelled_cells
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import cell_ids, login


def finals(case) -> dict[int, str | None]:
    rows = Cell.objects.filter(case=case).annotate(final=final_label_subquery())
    return dict(rows.values_list("id", "final"))


def newest(cell_id: int) -> int:
    return Label.objects.filter(cell_id=cell_id).order_by("-id").values_list("id", flat=True)[0]


@pytest.fixture
def disputed(double_read, dora, erin):
    """Cells 0-1 disputed (dora: blast, erin: normal), 2-3 agreed normal, 4 read by dora only."""
    ids = cell_ids(double_read)
    labels_set_bulk(case=double_read, user=dora, values={ids[0]: "all", ids[1]: "all"})
    labels_set_bulk(case=double_read, user=dora, values=dict.fromkeys(ids[2:5], "hem"))
    labels_set_bulk(case=double_read, user=erin, values=dict.fromkeys(ids[:4], "hem"))
    return double_read


def test_final_label_is_the_agreed_read_once_every_reader_has_read(disputed):
    ids = cell_ids(disputed)
    final = finals(disputed)
    assert [final[i] for i in ids[:6]] == [None, None, "hem", "hem", None, None]


def test_a_single_readers_newest_label_is_final_whoever_wrote_it(ready_case, dora, alice):
    first = cell_ids(ready_case)[0]
    labels_set_bulk(case=ready_case, user=dora, values={first: "all"})
    labels_set_bulk(case=ready_case, user=alice, values={first: "hem"})
    assert finals(ready_case)[first] == "hem"


def test_disputed_cells_are_listed_with_each_readers_label_for_leads_only(
    disputed, client_alice, client_dora, lab_a, lab_b, bob
):
    url = f"/projects/{lab_a.pk}/adjudication/"
    body = client_alice.get(url).content.decode()
    ids = cell_ids(disputed)
    assert f'id="dispute-{ids[0]}"' in body and f'id="dispute-{ids[1]}"' in body
    assert f'id="dispute-{ids[2]}"' not in body and "2 disputed cells" in body
    assert "<strong>dora</strong>: all" in body and "<strong>erin</strong>: hem" in body
    assert f'value="{newest(ids[0])}"' in body
    assert client_dora.get(url).status_code == 403
    assert client_dora.post(f"/cells/{ids[0]}/adjudicate/", {"value": "all"}).status_code == 403
    assert login(bob).get(url).status_code == 404


def test_the_adjudicators_call_becomes_final_and_leaves_the_queue(disputed, alice, client_alice):
    first = cell_ids(disputed)[0]
    response = client_alice.post(
        f"/cells/{first}/adjudicate/", {"value": "all", "seen": newest(first)}
    )
    assert response.status_code == 302
    assert finals(disputed)[first] == "all"
    label = Label.objects.get(cell_id=first, kind=LabelKind.ADJUDICATION)
    assert label.user == alice
    event = AuditEvent.objects.get(action="label.adjudicate")
    assert event.before == {"reads": {"dora": "all", "erin": "hem"}}
    assert event.after["label"] == "all" and event.actor == alice
    body = client_alice.get(f"/projects/{disputed.project_id}/adjudication/").content.decode()
    assert f'id="dispute-{first}"' not in body and "1 disputed cell" in body


def test_a_stale_view_gets_409_and_writes_nothing(disputed, erin, client_alice):
    first = cell_ids(disputed)[0]
    seen = newest(first)
    labels_set_bulk(case=disputed, user=erin, values={first: "unsure"})
    response = client_alice.post(
        f"/cells/{first}/adjudicate/",
        {"value": "all", "seen": seen},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 409 and response.json()["newest"] == newest(first)
    form = client_alice.post(f"/cells/{first}/adjudicate/", {"value": "all", "seen": seen})
    assert form.status_code == 409 and "labelled since you loaded it" in form.content.decode()
    assert not Label.objects.filter(kind=LabelKind.ADJUDICATION).exists()


def test_reviewers_cannot_adjudicate(disputed, client_dora):
    first = cell_ids(disputed)[0]
    response = client_dora.post(
        f"/cells/{first}/adjudicate/",
        {"value": "all", "seen": newest(first)},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 403


def test_sign_off_is_refused_while_disagreements_are_unadjudicated(disputed, alice, dora, erin):
    ids = cell_ids(disputed)
    labels_set_bulk(case=disputed, user=dora, values=dict.fromkeys(ids[5:], "hem"))
    labels_set_bulk(case=disputed, user=erin, values=dict.fromkeys(ids[4:], "hem"))
    with pytest.raises(ValidationError, match="2 cell.* disagree"):
        case_sign_off(case=disputed, user=dora)
    for cell_id, value in ((ids[0], "all"), (ids[1], "hem")):
        cell_adjudicate(
            cell=Cell.objects.select_related("case").get(pk=cell_id),
            user=alice,
            value=value,
            seen=newest(cell_id),
        )
    snapshot = case_sign_off(case=disputed, user=dora).snapshot
    assert snapshot["labels"][str(ids[0])] == "all" and snapshot["labels"][str(ids[1])] == "hem"
    assert snapshot["counts"]["label_all"] == 1 and snapshot["counts"]["unreviewed"] == 0
    assert [r["user"] for r in snapshot["readers"]] == ["dora", "erin"]


def test_a_lead_may_sign_off_over_a_disagreement_with_a_reason(disputed, alice):
    with pytest.raises(ValidationError, match="disagree"):
        case_sign_off(case=disputed, user=alice)
    sign_off = case_sign_off(case=disputed, user=alice, exception_reason="reader left")
    assert sign_off.snapshot["labels"][str(cell_ids(disputed)[0])] is None


def test_retraining_reads_final_labels_only(disputed, alice, lab_a):
    ids = cell_ids(disputed)
    cell_adjudicate(
        cell=Cell.objects.select_related("case").get(pk=ids[0]),
        user=alice,
        value="all",
        seen=newest(ids[0]),
    )
    case_sign_off(case=disputed, user=alice, exception_reason="partial read for the test")
    rows = dict(final_labelled_cells(project=lab_a).values_list("id", "final_label"))
    assert rows == {ids[0]: "all", ids[2]: "hem", ids[3]: "hem"}


def test_undo_in_a_double_read_case_restores_the_readers_own_read(disputed, dora):
    first = cell_ids(disputed)[0]
    batch = labels_set_bulk(case=disputed, user=dora, values={first: "hem"})
    assert batch.changes[0].before == "all"  # dora's own read, not erin's newer one
    label_undo(case=disputed, user=dora, batch=batch.batch)
    assert finals(disputed)[first] is None
    assert Label.objects.filter(cell_id=first, user=dora).order_by("-id")[0].value == "all"


def test_adjudication_of_a_signed_off_case_is_refused(disputed, alice):
    case_sign_off(case=disputed, user=alice, exception_reason="done")
    first = cell_ids(disputed)[0]
    with pytest.raises(ValidationError, match="locked"):
        cell_adjudicate(
            cell=Cell.objects.select_related("case").get(pk=first),
            user=alice,
            value="all",
            seen=newest(first),
        )
    assert type(disputed).objects.get(pk=disputed.pk).status == CaseStatus.SIGNED_OFF


def test_admins_set_blinding_from_the_queue_page(client_alice, lab_a):
    admin = UserFactory(username="ada")
    MembershipFactory(project=lab_a, user=admin, role=Role.ADMIN)
    url = f"/projects/{lab_a.pk}/blinding/"
    assert client_alice.post(url, {"blind_model_call": "on"}).status_code == 403
    login(admin).post(url, {"blind_model_call": "on"})
    lab_a.refresh_from_db()
    assert (lab_a.blind_second_reads, lab_a.blind_model_call) == (False, True)
    assert AuditEvent.objects.filter(action="project.blinding", project=lab_a).exists()
