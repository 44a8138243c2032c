"""Property-based fuzzing of the REST API from its own OpenAPI schema (schemathesis).

alice, a member of lab A, sends every operation of the schema with generated path, query and
body values, valid ones and invalid ones, against the app served over HTTP. Lab B holds a case, cells,
predictions, labels and a model version whose names carry a marker, and every generated path id
is also tried with lab A's and lab B's real ids. No response may be a server error or contain
lab B's data, and lab B's rows stay as they were.

Budget: a fixed number of examples per operation with a fixed seed (derandomized), so the run
is the same every time and takes well under a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode

from allreview.cases.models import Case, Cell, Label, Prediction
from allreview.projects.models import Role
from tests.factories import (
    CaseFactory,
    CellFactory,
    LabelFactory,
    MembershipFactory,
    ModelVersionFactory,
    ProjectFactory,
    UserFactory,
)

MARKER = "zqxb"  # in every name of lab B's data, and nowhere in lab A's
EXAMPLES_PER_OPERATION = 12
BUDGET_SECONDS = 60


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        pass


@pytest.fixture
def server(transactional_db) -> Iterator[str]:
    """The Django WSGI app served over HTTP from one thread, as a gunicorn thread serves it (the
    pytest-django live server wraps it in a media handler that needs a MEDIA_URL; ours is None,
    since images are never public media)."""
    httpd: WSGIServer = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=QuietHandler)

    def serve() -> None:
        try:
            httpd.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()  # this thread's connection, before the test database goes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()


@pytest.fixture
def world(transactional_db):
    lab_a = ProjectFactory(name="Lab A")
    alice = UserFactory(username="alice")
    MembershipFactory(project=lab_a, user=alice, role=Role.ADMIN)
    case_a = CaseFactory(project=lab_a, patient_code="A-0001")
    CellFactory.create_for_case(case_a, 3, model_version=ModelVersionFactory(name="model-a"))

    lab_b = ProjectFactory(name=f"Lab {MARKER} secret")
    bob = UserFactory(username=f"{MARKER}bob")
    MembershipFactory(project=lab_b, user=bob, role=Role.ADMIN)
    case_b = CaseFactory(project=lab_b, patient_code=f"{MARKER}-0001", specimen_id=f"{MARKER}-S")
    CellFactory.create_for_case(
        case_b, 3, model_version=ModelVersionFactory(name=f"{MARKER}-model", project=lab_b)
    )
    Cell.objects.filter(case=case_b).update(original_name=f"{MARKER}_cell.png")
    for cell in Cell.objects.filter(case=case_b):
        LabelFactory(cell=cell, user=bob, value="all")
    ids = {
        "a": _ids(lab_a.pk, case_a),
        "b": _ids(lab_b.pk, case_b),
    }
    return {"token": Token.objects.create(user=alice).key, "ids": ids, "lab_b": lab_b}


def _ids(project_id: int, case: Case) -> dict[str, list[int]]:
    cells = list(Cell.objects.filter(case=case).values_list("pk", flat=True))
    predictions = list(Prediction.objects.filter(cell__case=case).values_list("pk", flat=True))
    return {
        "projects": [project_id],
        "cases": [case.pk],
        "cells": cells,
        "predictions": predictions,
    }


def lab_b_state(lab_b) -> tuple[int, int, int]:
    return (
        Case.objects.filter(project=lab_b).count(),
        Label.objects.filter(cell__case__project=lab_b).count(),
        Case.objects.filter(project=lab_b, status="queued").count(),
    )


def api_schema() -> schemathesis.BaseSchema:
    """The schema drf-spectacular serves at /api/schema/, built in process (it needs a login)."""
    return schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


def strategy_for(operation, ids: dict[str, dict[str, list[int]]]) -> st.SearchStrategy:
    """Generated cases, plus the same operation aimed at real ids of both labs."""
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    resource = operation.path.split("/")[3]  # /api/v1/<resource>/...
    if "{id}" in operation.path:
        real = ids["a"].get(resource, []) + ids["b"].get(resource, [])
        strategies += [
            operation.as_strategy(path_parameters={"id": str(pk)}) for pk in sorted(set(real))
        ]
    return st.one_of(strategies)


def test_fuzzed_api_requests_never_fail_and_never_show_another_labs_data(world, server):
    schema = api_schema()
    headers = {"Authorization": f"Token {world['token']}"}
    before = lab_b_state(world["lab_b"])
    started = time.monotonic()
    seen: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10, "the schema lost operations"

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy_for(operation, world["ids"]))
        def fuzz(case) -> None:
            response = case.call(base_url=server, headers=headers, timeout=30)
            label = f"{case.method} {case.formatted_path} -> {response.status_code}"
            assert response.status_code < 500, label
            assert MARKER not in response.text.lower(), f"lab B data in {label}"

        fuzz()
        seen.append(operation.label)
        assert time.monotonic() - started < BUDGET_SECONDS, f"over budget after {seen}"

    assert lab_b_state(world["lab_b"]) == before, "a fuzzed request changed lab B"
