"""Label writes carry what the reader saw: a label changed since, or a model call replaced by a
reclassification, answers 409 with the fresh state and writes nothing. A retried request (same
request id) is saved once and reported saved. `next` only ever leads back into the site."""

from __future__ import annotations

import json

import pytest

from allreview.audit.models import AuditEvent
from allreview.cases.models import Case, Label, Prediction
from allreview.review.services.labels import labels_set_bulk
from tests.factories import CellFactory, ModelVersionFactory
from tests.helpers import cell_ids, login
from tests.review.test_conflict import at_once


def post(client, case, payload: dict, **headers):
    return client.post(
        f"/cases/{case.pk}/labels/", json.dumps(payload), content_type="application/json", **headers
    )


def test_a_relabel_on_a_stale_view_answers_409_with_the_fresh_state(ready_case, dora, client_alice):
    first = cell_ids(ready_case)[0]
    labels_set_bulk(case=ready_case, user=dora, values={first: "all"})
    response = post(
        client_alice, ready_case, {"cells": [first], "value": "hem", "seen": {first: None}}
    )
    assert response.status_code == 409
    fresh = response.json()["fresh"]
    assert fresh["cells"] == [
        {
            "cell": first,
            "label": "all",
            "predicted_label": "hem",
            "probability": 0.0,
            "uncertainty": 0.01,
        }
    ]
    assert Label.objects.count() == 1
    ok = post(client_alice, ready_case, {"cells": [first], "value": "hem", "seen": {first: "all"}})
    assert ok.status_code == 201


def test_accepting_a_call_the_page_showed_from_a_replaced_model_answers_409(
    ready_case, client_dora
):
    ids = cell_ids(ready_case)
    shown = ready_case.model_version_id
    newer = ModelVersionFactory(name="m-newer")
    Prediction.objects.bulk_create(
        Prediction(cell_id=c, model_version=newer, probability=0.99, label="all", uncertainty=0)
        for c in ids
    )
    Case.objects.filter(pk=ready_case.pk).update(model_version=newer)  # reclassified meanwhile
    seen = dict.fromkeys(ids[:2])
    payload = {"cells": ids[:2], "value": "model", "model_version": shown, "seen": seen}
    response = post(client_dora, ready_case, payload)
    assert response.status_code == 409
    fresh = response.json()["fresh"]
    assert fresh["model_version"] == newer.pk
    assert {c["predicted_label"] for c in fresh["cells"]} == {"all"}
    assert Label.objects.count() == 0 and AuditEvent.objects.count() == 0
    again = post(client_dora, ready_case, {**payload, "model_version": newer.pk})
    assert again.status_code == 201 and {c["after"] for c in again.json()["changes"]} == {"all"}
    assert post(client_dora, ready_case, {"cells": ids[:1], "value": "model"}).status_code == 400


def test_a_retried_relabel_is_saved_once_and_reported_saved(ready_case, client_dora, dora):
    first = cell_ids(ready_case)[0]
    payload = {"cells": [first], "value": "all", "seen": {first: None}, "request_id": "r-1"}
    saved = post(client_dora, ready_case, payload)
    retried = post(client_dora, ready_case, payload)
    assert (saved.status_code, retried.status_code) == (201, 200)
    assert retried.json()["replayed"] is True and retried.json()["batch"] == saved.json()["batch"]
    assert retried.json()["changes"] == saved.json()["changes"]
    assert Label.objects.count() == 1 and AuditEvent.objects.filter(action="label.set").count() == 1
    other = post(client_dora, ready_case, {**payload, "value": "hem"})
    assert other.status_code == 400 and Label.objects.count() == 1


def test_an_api_relabel_with_an_idempotency_key_is_not_doubled(ready_case, client_dora):
    first = cell_ids(ready_case)[0]
    url = f"/api/v1/cells/{first}/labels/"
    one = client_dora.post(url, {"value": "hem", "seen": ""}, HTTP_IDEMPOTENCY_KEY="k-1")
    two = client_dora.post(url, {"value": "hem", "seen": ""}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (one.status_code, two.status_code) == (201, 200)
    assert one.json()["id"] == two.json()["id"] and Label.objects.count() == 1
    stale = client_dora.post(url, {"value": "all", "seen": ""})
    assert stale.status_code == 409 and stale.json()["fresh"]["cells"][0]["label"] == "hem"


@pytest.mark.django_db(transaction=True)
def test_two_plain_relabels_of_one_cell_at_once_give_one_201_and_one_409(lab_a, alice):
    from tests.factories import CaseFactory, MembershipFactory, ModelVersionFactory, UserFactory

    users = []
    for name in ("dora", "erin"):
        user = UserFactory(username=name)
        MembershipFactory(project=lab_a, user=user, role="reviewer")
        users.append(user)
    case = CaseFactory(project=lab_a)
    cell = CellFactory.create_for_case(case, 1, model_version=ModelVersionFactory())[0]

    def relabel(user, value: str):
        client = login(user)
        return lambda: post(
            client, case, {"cells": [cell.pk], "value": value, "seen": {cell.pk: None}}
        )

    responses = at_once(relabel(users[0], "all"), relabel(users[1], "hem"))
    assert sorted(r.status_code for r in responses) == [201, 409]
    assert Label.objects.filter(cell=cell).count() == 1


@pytest.mark.parametrize(
    ("next_url", "lands"),
    [
        ("https://evil.example/phish", "/"),
        ("//evil.example/", "/"),
        ("/cases/?scope=mine", "/cases/?scope=mine"),
    ],
)
def test_take_returns_only_to_a_local_next_url(ready_case, client_dora, next_url, lands):
    response = client_dora.post(f"/cases/{ready_case.pk}/assign/", {"take": "1", "next": next_url})
    assert response.status_code == 302 and response["Location"] == lands
