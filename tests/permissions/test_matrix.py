"""The permission matrix: every page, API endpoint and image URL, for every role and an outsider.

Outsiders get 404 everywhere (a case's existence is not leaked); members get the page when their
role allows it and 403 when it does not. A refused write changes nothing: no audit event, no row.
Every route of the project must appear here, so a new endpoint cannot escape the matrix.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver

from allreview.audit.models import AuditEvent
from allreview.cases.models import Case, CaseStatus, Label
from allreview.training.models import TrainingRun

ALL = {"uploader", "reviewer", "adjudicator", "admin"}
LABELLERS = {"reviewer", "adjudicator", "admin"}
LEADS = {"adjudicator", "admin"}
ROLES = ["outsider", "uploader", "reviewer", "adjudicator", "admin"]

# name: (url template, roles that may read it)
READS = {
    "case_detail": ("/cases/{case}/", ALL),
    "cell_panel": ("/cells/{cell}/panel/", ALL),
    "cell_image": ("/cells/{cell}/image/", ALL),
    "cell_thumbnail": ("/cells/{cell}/thumbnail/", ALL),
    "cell_thumbnail_addressed": ("{thumbnail_url}", ALL),
    "case_thumbnail_pack": ("{pack_url}", ALL),
    "case-detail": ("/api/v1/cases/{case}/", ALL),
    "case-cells": ("/api/v1/cases/{case}/cells/", ALL),
    "cell-detail": ("/api/v1/cells/{cell}/", ALL),
    "cell-labels": ("/api/v1/cells/{cell}/labels/", ALL),
    "prediction-detail": ("/api/v1/predictions/{prediction}/", ALL),
    "project-detail": ("/api/v1/projects/{project}/", ALL),
    "model-version-detail": ("/api/v1/models/{version}/", ALL),
    "registry": ("/projects/{project}/models/", ALL),
    "compare": ("/projects/{project}/models/compare/", ALL),
    "model_detail": ("/projects/{project}/models/{version}/", ALL),
    "model_chart": ("/projects/{project}/models/{version}/curves.svg", ALL),
    "model_chart_png": ("/projects/{project}/models/{version}/curves.png", ALL),
    "runs": ("/projects/{project}/training/", ALL),
    "run_status": ("/projects/{project}/training/runs/{run}/", ALL),
    "run_curves": ("/projects/{project}/training/runs/{run}/curves.svg", ALL),
    "run_curves_png": ("/projects/{project}/training/runs/{run}/curves.png", ALL),
    "drift": ("/projects/{project}/drift/", ALL),
    "project": ("/audit/projects/{project}/", LEADS),
    "case": ("/audit/cases/{case}/", LEADS),
    "cells_csv": ("/exports/{project}/cells.csv", LEADS),
    "cells_json": ("/exports/{project}/cells.json", LEADS),
    "cnmc_zip": ("/exports/{project}/cnmc.zip", LEADS),
    "agreement": ("/projects/{project}/agreement/", LEADS),
    "adjudication_queue": ("/projects/{project}/adjudication/", LEADS),
    # issue 15 (interop): the world's case is open, so its reports are preliminary
    "case-fhir": ("/api/v1/cases/{case}/fhir/?status=preliminary", ALL),
    "case_report": ("/cases/{case}/report/", ALL),
    "fhir_endpoint": ("/projects/{project}/fhir/", LEADS),
    "reader_quality": ("/projects/{project}/quality/", LABELLERS),  # readers: their own figures
    "reference_pool": ("/projects/{project}/quality/pool/", LEADS),
    "field_detail": ("/fields/{field}/", ALL),
    "field_image": ("/fields/{field}/image/", ALL),
    "field_cells": ("/fields/{field}/cells/", ALL),
}

# name: (url template, form or JSON body, roles that may do it, what a success leaves behind)
WRITES = {
    "cell_label": ("/cells/{cell}/label/", {"value": "hem"}, LABELLERS, "label"),
    "case_labels": (
        "/cases/{case}/labels/",
        {"json": {"cells": ["{cell}"], "value": "hem"}},
        LABELLERS,
        "label",
    ),
    "cell-labels-post": ("/api/v1/cells/{cell}/labels/", {"value": "hem"}, LABELLERS, "label"),
    "case_retry": ("/cases/{case}/retry/", {}, {"uploader", "adjudicator", "admin"}, "audit"),
    "case-retry": (
        "/api/v1/cases/{case}/retry/",
        {},
        {"uploader", "adjudicator", "admin"},
        "audit",
    ),
    "promote": (
        "/projects/{project}/models/{version}/promote/",
        {"reason": "test"},
        {"admin"},
        "audit",
    ),
    "run_request": ("/projects/{project}/training/request/", {}, {"admin"}, "run"),
    "evaluation_add": (
        "/projects/{project}/training/evaluation/",
        {"patient_codes": "MX-1"},
        LEADS,
        "audit",
    ),
    "project_blinding": (
        "/projects/{project}/blinding/",
        {"blind_second_reads": "on"},
        {"admin"},
        "audit",
    ),
    "fhir_endpoint-post": (  # issue 15
        "/projects/{project}/fhir/",
        {"base_url": "https://fhir.lab.example/fhir", "push_enabled": "on"},
        {"admin"},
        "audit",
    ),
    "quality_settings": (
        "/projects/{project}/quality/settings/",
        {"enabled": "on", "rate": "0.03", "accuracy_floor": "0.9"},
        {"admin"},
        "audit",
    ),
    "detection_reject": (
        "/fields/cells/{cell}/reject/",
        {"json": {"reason": "debris"}},
        LABELLERS,
        "audit",
    ),
    "detection_restore": (  # world.cell's detection rejected first (by the admin)
        "/fields/cells/{cell}/restore/",
        {},
        LABELLERS,
        "audit",
    ),
    "field_cells-post": (  # add the missed cell at WHITE_CELLS[1] of the world's field
        "/fields/{field}/cells/",
        {"json": {"x": 640, "y": 420}},
        LABELLERS,
        "audit",
    ),
}

# Routes without a project object (each user sees only their own data there), and routes whose
# role rules need a prepared state and are shown by their own tests.
UNSCOPED = {
    "login",
    "logout",
    "project-list",
    "case-list",
    "prediction-list",
    "model-version-list",
    "api-root",
    "schema",
    "api-docs",
    "api_token",
    "list",
    "healthz",
    "readyz",
    "case_list",
    "case_upload",
}
SHOWN_ELSEWHERE = {
    "case_assign": "tests/review/test_worklist.py",
    "case_readers": "tests/review/test_readers.py",
    "case_reader_remove": "tests/review/test_readers.py",
    "cell_adjudicate": "tests/review/test_adjudication.py, test_conflict.py",
    "case_labels_undo": "tests/review/test_labels_bulk.py",
    "case_sign_off": "tests/review/test_signoff.py",
    "case_reopen": "tests/review/test_signoff.py",
    "cell_saliency": "tests/review/test_cell_view.py",
    "cell_saliency_image": "tests/review/test_cell_view.py",
    "case-list-create": "tests/cases/test_upload.py",
    "pretrain_request": "tests/pretraining/test_pretraining.py",  # needs enough cells
    "pretrain_status": "tests/pretraining/test_pretraining.py",
    "case_fhir_push": "tests/interop/test_access.py",  # issue 15: needs a signed case
    "reference_add": "tests/quality/test_permissions.py",
    "reference_retire": "tests/quality/test_permissions.py",
}


def url(template: str, world) -> str:
    from allreview.review.thumbnails import thumbnail_pack_url, thumbnail_url

    return template.format(
        thumbnail_url=thumbnail_url(world.cell.pk, world.cell.sha256),
        pack_url=thumbnail_pack_url(world.case),
        project=world.project.pk,
        case=world.case.pk,
        cell=world.cell.pk,
        version=world.version.pk,
        run=world.run.pk,
        prediction=world.prediction.pk,
        field=world.field.pk,
    )


def client_of(world, who: str) -> Client:
    client = Client()
    client.force_login(world.users[who])
    return client


def test_every_route_is_in_the_matrix():
    def names(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                if "admin" not in str(p.pattern):
                    yield from names(p.url_patterns)
            else:
                yield p.name

    covered = (
        set(READS) | {n.removesuffix("-post") for n in WRITES} | UNSCOPED | set(SHOWN_ELSEWHERE)
    )
    assert set(names(get_resolver().url_patterns)) - covered == set()


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("name", sorted(READS))
def test_reads(world, name, who):
    template, allowed = READS[name]
    status = client_of(world, who).get(url(template, world)).status_code
    expected = 200 if who in allowed else (404 if who == "outsider" else 403)
    assert status == expected, f"{who} GET {name}: {status}"


def _effect(kind: str) -> int:
    return {
        "label": Label.objects.count,
        "audit": AuditEvent.objects.count,
        "run": TrainingRun.objects.count,
    }[kind]()


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("name", sorted(WRITES))
def test_writes(world, name, who):
    template, body, allowed, effect = WRITES[name]
    if name in {"case_retry", "case-retry"}:
        Case.objects.filter(pk=world.case.pk).update(status=CaseStatus.FAILED)
    if name == "detection_restore":
        from allreview.fields.services import detection_reject

        detection_reject(cell=world.cell, user=world.users["admin"], reason="debris")
    client = client_of(world, who)
    before = _effect(effect)
    if "json" in body:
        payload = json.loads(json.dumps(body["json"]).replace('"{cell}"', str(world.cell.pk)))
        response = client.post(url(template, world), payload, content_type="application/json")
    else:
        response = client.post(url(template, world), body)
    changed = _effect(effect) > before
    if who in allowed:
        assert response.status_code in {200, 201, 202, 302}, (
            f"{who} POST {name}: {response.status_code}"
        )
        assert changed, f"{who} POST {name} changed nothing"
    else:
        assert response.status_code == (404 if who == "outsider" else 403), (
            f"{who} POST {name}: {response.status_code}"
        )
        assert not changed, f"{who} POST {name} was refused but left a trace"


def test_project_page_links_what_each_role_may_open(world):
    reviewer = client_of(world, "reviewer").get("/projects/").content.decode()
    lead = client_of(world, "adjudicator").get("/projects/").content.decode()
    outsider = client_of(world, "outsider").get("/projects/").content.decode()
    assert "Model registry" in reviewer and "Audit trail" not in reviewer
    assert "Audit trail" in lead and "Adjudication queue" in lead
    assert "Matrix lab" not in outsider
