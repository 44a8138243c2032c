"""Reader QC fixtures. Lab A: alice (lead), dora and erin (reviewers), ivan (admin), ula
(uploader). SOURCE-1 is a signed-off case read by dora and erin, who agreed on six of its eight
cells; its cells fill the pool. `qc_case` is a new patient's case uploaded with QC on."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from allreview.cases.models import Case, LabelKind
from allreview.projects.models import Role
from allreview.quality.services import quality_settings_set, reference_cells_add
from allreview.review.services.labels import labels_set_bulk
from allreview.review.services.readers import case_reader_add
from allreview.review.services.signoff import case_sign_off
from tests.factories import LabelFactory, ModelVersionFactory
from tests.quality.helpers import classify, member, upload

SOURCE_CALLS = {  # cell index: (dora, erin)
    0: ("all", "all"),
    1: ("all", "all"),
    2: ("all", "all"),
    3: ("hem", "hem"),
    4: ("hem", "hem"),
    5: ("hem", "hem"),
    6: ("all", "hem"),  # disputed: adjudicated 'all' below
    7: ("unsure", "unsure"),  # agreed, but not a class
}


@dataclass
class QC:
    project: object
    alice: object
    dora: object
    erin: object
    ivan: object
    ula: object
    version: object
    source: Case
    references: list


@pytest.fixture
def qc(lab_a, alice) -> QC:
    dora, erin = member(lab_a, "dora", Role.REVIEWER), member(lab_a, "erin", Role.REVIEWER)
    ivan, ula = member(lab_a, "ivan", Role.ADMIN), member(lab_a, "ula", Role.UPLOADER)
    version = ModelVersionFactory(name="qc-model", project=lab_a)
    source = upload(lab_a, ula, "SOURCE-1", len(SOURCE_CALLS), seed=100)
    classify(source, version)
    case_reader_add(case=source, user=alice, reader=dora)
    case_reader_add(case=source, user=alice, reader=erin)
    ids = list(source.cells.order_by("id").values_list("id", flat=True))
    for reader, position in ((dora, 0), (erin, 1)):
        values = {ids[i]: calls[position] for i, calls in SOURCE_CALLS.items()}
        labels_set_bulk(case=source, user=reader, values=values)
    LabelFactory(cell_id=ids[6], value="all", user=alice, kind=LabelKind.ADJUDICATION)
    case_sign_off(case=source, user=alice, exception_reason="two unsure cells")
    return QC(lab_a, alice, dora, erin, ivan, ula, version, source, [])


@pytest.fixture
def pooled(qc) -> QC:
    """The seven graded cells of SOURCE-1 in the pool, and QC on at 20%."""
    ids = list(qc.source.cells.order_by("id").values_list("id", flat=True))
    qc.references = reference_cells_add(project=qc.project, user=qc.alice, cell_ids=ids[:7])
    quality_settings_set(
        project=qc.project, user=qc.ivan, enabled=True, rate=0.2, accuracy_floor=0.9
    )
    return qc


@pytest.fixture
def qc_case(pooled) -> Case:
    """A new patient's case of 20 cells: with QC at 20% it gets exactly four reference cells.
    Read by dora."""
    case = upload(pooled.project, pooled.ula, "NEW-1", 20, seed=500)
    classify(case, pooled.version)
    case_reader_add(case=case, user=pooled.dora, reader=pooled.dora)
    return case
