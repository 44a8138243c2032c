"""Concurrency against PostgreSQL: two readers labelling one cell at the same moment are both
recorded; two adjudicators deciding on the same view get one 201 and one 409, never a silent
overwrite. Each thread has its own client and its own database connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from allreview.cases.models import Label, LabelKind
from allreview.projects.models import Role
from allreview.review.selectors.labels import newest_label_id
from allreview.review.services.readers import case_reader_add
from tests.factories import (
    CaseFactory,
    CellFactory,
    MembershipFactory,
    ModelVersionFactory,
    UserFactory,
)
from tests.helpers import login

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*requests: Callable[[], Any]) -> list[Any]:
    """Run the requests in threads released together; each closes its connection after."""
    barrier = threading.Barrier(len(requests))
    results: list[Any] = [None] * len(requests)

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = requests[i]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def double_read_cell(lab_a, alice):
    readers = []
    for name in ("dora", "erin"):
        user = UserFactory(username=name)
        MembershipFactory(project=lab_a, user=user, role=Role.REVIEWER)
        readers.append(user)
    case = CaseFactory(project=lab_a)
    cell = CellFactory.create_for_case(case, 1, model_version=ModelVersionFactory())[0]
    for reader in readers:
        case_reader_add(case=case, user=alice, reader=reader)
    return cell, readers


def label_request(user, cell_id: int, value: str) -> Callable[[], Any]:
    client = login(user)
    return lambda: client.post(
        f"/cells/{cell_id}/label/", {"value": value}, HTTP_ACCEPT="application/json"
    )


def adjudicate_request(user, cell_id: int, value: str, seen: int) -> Callable[[], Any]:
    client = login(user)
    return lambda: client.post(
        f"/cells/{cell_id}/adjudicate/",
        {"value": value, "seen": seen},
        HTTP_ACCEPT="application/json",
    )


def test_two_readers_labelling_the_same_cell_at_once_are_both_recorded(double_read_cell):
    cell, (dora, erin) = double_read_cell
    responses = at_once(label_request(dora, cell.pk, "all"), label_request(erin, cell.pk, "hem"))
    assert sorted(r.status_code for r in responses) == [201, 201]
    reads = dict(Label.objects.filter(cell=cell).values_list("user__username", "value"))
    assert reads == {"dora": "all", "erin": "hem"}


def test_adjudicators_on_the_same_view_get_one_201_and_one_409(
    double_read_cell, alice, lab_a, monkeypatch
):
    cell, (dora, erin) = double_read_cell
    at_once(label_request(dora, cell.pk, "all"), label_request(erin, cell.pk, "hem"))
    seen = newest_label_id(cell_id=cell.pk)
    lena = UserFactory(username="lena")
    MembershipFactory(project=lab_a, user=lena, role=Role.ADJUDICATOR)
    check = newest_label_id

    def slow_check(*, cell_id: int) -> int | None:
        time.sleep(0.2)  # hold the lock long enough for the other request to queue on it
        return check(cell_id=cell_id)

    monkeypatch.setattr("allreview.review.services.adjudication.newest_label_id", slow_check)
    responses = at_once(
        adjudicate_request(alice, cell.pk, "all", seen),
        adjudicate_request(lena, cell.pk, "hem", seen),
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    winner = next(r for r in responses if r.status_code == 201).json()
    loser = next(r for r in responses if r.status_code == 409).json()
    assert loser["newest"] == winner["label"]
    adjudications = Label.objects.filter(cell=cell, kind=LabelKind.ADJUDICATION)
    assert list(adjudications.values_list("value", flat=True)) == [winner["value"]]
    assert Label.objects.filter(cell=cell, kind=LabelKind.READ).count() == 2
