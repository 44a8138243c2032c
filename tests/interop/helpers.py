"""Interop test helpers (fixtures are in conftest.py): dora's calls, labelling a case as a
reader, and finding resources in a bundle."""

from __future__ import annotations

import json

from fhir.resources.R4B.bundle import Bundle

from allreview.cases.models import Case
from allreview.review.services.labels import labels_set_bulk
from tests.helpers import login

__all__ = ["CALLS", "label_as", "login", "observation", "resources"]

# dora's calls on the ten cells (the model calls cells 5..9 blasts)
CALLS = ["hem", "hem", "hem", "hem", "artifact", "all", "all", "all", "hem", "all"]


def label_as(case: Case, user, calls: list[str]) -> None:
    ids = list(case.cells.order_by("id").values_list("id", flat=True))
    labels_set_bulk(case=case, user=user, values=dict(zip(ids, calls, strict=True)))


def resources(bundle: Bundle | dict, kind: str) -> list[dict]:
    data = json.loads(bundle.model_dump_json()) if isinstance(bundle, Bundle) else bundle
    return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind]


def observation(bundle: dict, code: str) -> dict:
    found = [o for o in resources(bundle, "Observation") if o["code"]["coding"][0]["code"] == code]
    assert len(found) == 1, f"{code}: {len(found)} observations"
    return found[0]
