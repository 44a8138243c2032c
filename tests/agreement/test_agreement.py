from __future__ import annotations

import csv
import io
import math
import random

import pytest
from django.test import Client
from sklearn.metrics import cohen_kappa_score

from allreview.agreement.selectors import agreement_rows, kappa, override_matrix, project_reads
from allreview.cases.models import Case, LabelValue, Prediction
from allreview.projects.models import Role
from allreview.review.services.labels import label_set
from tests.factories import (
    CaseFactory,
    CellFactory,
    LabelFactory,
    MembershipFactory,
    ModelVersionFactory,
    UserFactory,
)

MODEL_CALLS = ["all", "all", "hem", "hem", "all", "hem"]
RITA = ["all", "hem", "hem", "hem", "all", "unsure"]
SAM = ["all", "hem", "hem", "all", "all", "hem"]


@pytest.fixture
def read_twice(lab_a):
    version = ModelVersionFactory()
    case = CaseFactory(project=lab_a)
    cells = CellFactory.create_for_case(case, 6)
    Case.objects.filter(pk=case.pk).update(model_version=version)
    Prediction.objects.bulk_create(
        Prediction(cell=c, model_version=version, probability=0.5, label=call, uncertainty=0)
        for c, call in zip(cells, MODEL_CALLS, strict=True)
    )
    for name, values in (("rita", RITA), ("sam", SAM)):
        reader = UserFactory(username=name)
        MembershipFactory(project=lab_a, user=reader, role=Role.REVIEWER)
        for cell, value in zip(cells, values, strict=True):
            label_set(cell=cell, user=reader, value=value)
    return lab_a


def sign_off_all(project, lead) -> None:
    from allreview.cases.models import CaseStatus
    from allreview.review.services.signoff import case_sign_off

    for case in Case.objects.filter(project=project):
        Case.objects.filter(pk=case.pk).update(status=CaseStatus.IN_REVIEW)
        case_sign_off(case=Case.objects.get(pk=case.pk), user=lead, exception_reason="t")


def test_signed_off_cases_are_compared_as_their_sign_off_recorded_them(read_twice, alice):
    from allreview.cases.models import Cell

    sign_off_all(read_twice, alice)
    first = Cell.objects.order_by("id").first()
    # rows written behind the services' back after sign-off: a read and a new model call
    LabelFactory(cell=first, user=alice, value="artifact")
    Prediction.objects.filter(cell=first).delete()
    reads = project_reads(project=read_twice)
    assert reads.readers == ["rita", "sam"]
    assert reads.labels[first.pk] == {"rita": "all", "sam": "all"}
    assert reads.model[first.pk] == "all"
    rows = {(r["a"], r["b"]): r for r in agreement_rows(reads) if r["period"] == "all"}
    assert rows[("rita", "sam")]["agree"] == pytest.approx(4 / 6)


def test_kappa_matches_scikit_learn_for_each_pair(read_twice):
    rows = {
        (r["a"], r["b"]): r
        for r in agreement_rows(project_reads(project=read_twice))
        if r["period"] == "all"
    }
    labels = ["all", "hem", "unsure", "artifact"]
    assert rows[("rita", "sam")]["kappa"] == pytest.approx(
        cohen_kappa_score(RITA, SAM, labels=labels)
    )
    assert rows[("model", "rita")]["kappa"] == pytest.approx(
        cohen_kappa_score(MODEL_CALLS, RITA, labels=labels)
    )
    assert rows[("model", "sam")]["n"] == 6
    assert rows[("rita", "sam")]["agree"] == pytest.approx(4 / 6)


def test_override_matrix_counts_model_call_against_reader_call(read_twice):
    reads = project_reads(project=read_twice)
    rita = override_matrix(reads, "rita")
    assert rita["all"] == {"all": 2, "hem": 1, "unsure": 0, "artifact": 0}
    assert rita["hem"] == {"all": 0, "hem": 2, "unsure": 1, "artifact": 0}
    both = override_matrix(reads)
    assert sum(sum(row.values()) for row in both.values()) == 12


def test_kappa_is_undefined_for_too_few_cells():
    assert kappa([("all", "all")]) is None


def test_agreement_page_csv_and_chart_for_leads(read_twice, alice):
    client = Client()
    client.force_login(alice)
    page = client.get(f"/projects/{read_twice.pk}/agreement/").content.decode()
    assert "rita" in page and "sam" in page and "Override matrix" in page
    response = client.get(f"/projects/{read_twice.pk}/agreement/?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {(r["a"], r["b"]) for r in rows} >= {("model", "rita"), ("rita", "sam")}
    assert any(r["period"] != "all" for r in rows)  # per month as well
    chart = client.get(f"/projects/{read_twice.pk}/agreement/?format=svg")
    assert chart["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert chart.content.startswith(b"<svg ") and b"vs" in chart.content


def test_readers_cannot_see_colleagues_agreement(read_twice):
    client = Client()
    client.force_login(UserFactory(username="rita"))
    assert client.get(f"/projects/{read_twice.pk}/agreement/").status_code == 403


def test_adjudications_are_not_counted_as_reads(read_twice, alice):
    from allreview.cases.models import Cell, LabelKind

    for cell in Cell.objects.all():
        LabelFactory(cell=cell, user=alice, value="artifact", kind=LabelKind.ADJUDICATION)
    assert "alice" not in project_reads(project=read_twice).readers


def test_kappa_matches_scikit_learn_without_importing_it():
    rng = random.Random(12)
    values = list(LabelValue.values)
    for _ in range(50):
        pairs = [(rng.choice(values), rng.choice(values[:2])) for _ in range(rng.randint(2, 30))]
        expected = cohen_kappa_score(*zip(*pairs, strict=True), labels=values)
        got = kappa(pairs)
        assert (got is None and math.isnan(expected)) or got == pytest.approx(expected)
    assert kappa([("all", "all"), ("all", "all")]) is None  # one value only: undefined
