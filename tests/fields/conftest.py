from __future__ import annotations

from typing import Any

import pytest

from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case
from allreview.cases.services import case_upload
from tests.fields.helpers import drawn_field


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Tasks sent (name, primary key) instead of a broker."""
    calls: list[tuple[str, int]] = []

    def send(task: Any, *args: int) -> bool:
        calls.append((task.name.rsplit(".", 1)[-1], *args))
        return True

    for where in (
        "allreview.cases.services",
        "allreview.fields.segmentation",
        "allreview.lib.queueing",  # enqueue_on_commit sends through it
    ):
        monkeypatch.setattr(f"{where}.task_send", send)
    return calls


@pytest.fixture
def field_case(lab_a, alice) -> Case:
    """A queued case of one drawn field (three white cells) and one single cell."""
    from classifier.synthetic import make_cell
    from tests.helpers import encode

    return case_upload(
        project=lab_a,
        user=alice,
        patient_code="F-1",
        files=[
            IncomingFile("field.jpg", drawn_field()),
            IncomingFile("cell.png", encode(make_cell("all", 1), "PNG")),
        ],
    )
