"""Reader figures on reference cells: accuracy with a Wilson interval, Cohen's kappa with its
interval, the confusion matrix, the floor warning; leads see every reader, readers their own."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest

from allreview.quality.stats import cohen_kappa, reader_figures
from allreview.review.services.labels import labels_set_bulk
from allreview.review.services.readers import case_reader_add
from allreview.review.services.signoff import case_sign_off
from tests.quality.helpers import answers, login, own_ids


def test_kappa_and_accuracy_match_a_hand_computation():
    pairs = [("all", v) for v in ("all", "all", "all", "all", "hem")] + [
        ("hem", v) for v in ("hem", "hem", "hem", "hem", "all")
    ]
    figures = reader_figures("dora", "all", pairs, floor=0.9)
    # po = 0.8, pe = 0.5·0.5 + 0.5·0.5 = 0.5, kappa = (0.8 - 0.5) / 0.5 = 0.6; the interval is
    # po's Wilson interval (0.4902, 0.9433) put through the same formula
    assert figures.kappa.estimate == pytest.approx(0.6)
    assert figures.kappa.low == pytest.approx((0.4902 - 0.5) / 0.5, abs=1e-3)
    assert figures.kappa.high == pytest.approx((0.9433 - 0.5) / 0.5, abs=1e-3)
    assert figures.accuracy.estimate == 0.8 and figures.accuracy.low == pytest.approx(
        0.4902, abs=1e-3
    )
    assert figures.confusion == [[4, 1, 0], [1, 4, 0]] and figures.below_floor


def test_unsure_and_artifact_calls_count_as_wrong_in_the_unsure_column():
    figures = reader_figures(
        "erin", "all", [("all", "unsure"), ("hem", "artifact"), ("hem", "hem")], 0.5
    )
    assert figures.confusion == [[0, 0, 1], [0, 1, 1]]
    assert figures.accuracy.successes == 1 and figures.below_floor


def test_kappa_is_undefined_with_too_few_reads_and_never_certain_from_a_few():
    assert cohen_kappa([("all", "all")]).estimate is None
    perfect = cohen_kappa([("all", "all")] * 4 + [("hem", "hem")] * 4)
    assert perfect.estimate == 1.0 and perfect.high == 1.0 and perfect.low < 0.5


@pytest.fixture
def read_twice(qc_case, pooled):
    """qc_case read by dora (every reference cell right) and erin (every one called 'hem')."""
    case_reader_add(case=qc_case, user=pooled.alice, reader=pooled.erin)
    known = answers(qc_case)
    labels_set_bulk(
        case=qc_case, user=pooled.dora, values={**dict.fromkeys(own_ids(qc_case), "hem"), **known}
    )
    labels_set_bulk(
        case=qc_case, user=pooled.erin, values=dict.fromkeys([*own_ids(qc_case), *known], "hem")
    )
    case_sign_off(case=qc_case, user=pooled.dora)
    return known


def test_the_lead_sees_every_reader_with_the_floor_warning(read_twice, pooled):
    page = login(pooled.alice).get(f"/projects/{pooled.project.pk}/quality/")
    html = page.content.decode()
    assert page.status_code == 200 and "dora" in html and "erin" in html
    n_blasts = sum(v == "all" for v in read_twice.values())
    assert n_blasts > 0, "the fixture's four reference cells include blasts"
    assert html.count("below the floor") >= 1 and 'class="warning"' in html
    for svg in html.split("<svg")[1:]:
        ET.fromstring("<svg" + svg.split("</svg>")[0] + "</svg>")  # well-formed pictures


def test_a_reader_sees_only_their_own_figures_and_csv(read_twice, pooled):
    reader = login(pooled.dora)
    html = reader.get(f"/projects/{pooled.project.pk}/quality/").content.decode()
    assert "dora" in html and "erin" not in html
    response = reader.get(f"/projects/{pooled.project.pk}/quality/?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["reader"] for r in rows} == {"dora"}
    overall = next(r for r in rows if r["period"] == "all")
    assert overall["n"] == "4" and overall["correct"] == "4" and overall["below_floor"] == "False"
    assert len(rows) == 2  # all months, and this month


def test_lead_csv_has_every_reader(read_twice, pooled):
    response = login(pooled.alice).get(f"/projects/{pooled.project.pk}/quality/?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    erin = next(r for r in rows if r["reader"] == "erin" and r["period"] == "all")
    n_blasts = sum(v == "all" for v in read_twice.values())
    assert erin["correct"] == str(4 - n_blasts) and erin["blast_called_normal"] == str(n_blasts)


def test_uploaders_get_403_and_outsiders_404(pooled, charlie):
    assert login(pooled.ula).get(f"/projects/{pooled.project.pk}/quality/").status_code == 403
    assert login(charlie).get(f"/projects/{pooled.project.pk}/quality/").status_code == 404


def test_an_unsigned_case_adds_no_figures(qc_case, pooled):
    labels_set_bulk(case=qc_case, user=pooled.dora, values=dict.fromkeys(answers(qc_case), "all"))
    html = login(pooled.alice).get(f"/projects/{pooled.project.pk}/quality/").content.decode()
    assert 'id="quality-empty"' in html
