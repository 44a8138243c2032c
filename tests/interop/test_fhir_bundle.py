"""The FHIR report of a case: validated by the library, the numbers equal the case summary,
amended after a reopen pointing at the report it replaces, and nothing names the patient."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from allreview.interop import codes
from allreview.interop.fhir import bundle_build, bundle_json
from allreview.interop.selectors import NotSignedOff, case_report
from allreview.review.models import SignOff
from allreview.review.services.signoff import case_reopen, case_sign_off
from allreview.review.summary import case_summary
from tests.interop.helpers import CALLS, label_as, login, observation, resources


def _bundle(case, user, **kwargs) -> dict:
    built = bundle_build(case_report(case=case, user=user, **kwargs))
    text = bundle_json(built)
    Bundle.model_validate_json(text)  # what we serve parses back as a valid Bundle
    return json.loads(text)


def test_signed_case_gives_a_valid_final_bundle_with_every_resource(signed_case, dora):
    bundle = _bundle(signed_case, dora)
    assert bundle["type"] == "collection"
    first = bundle["entry"][0]["resource"]
    assert first["resourceType"] == "DiagnosticReport" and first["status"] == "final"
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {"DiagnosticReport", "Observation", "Specimen", "Device", "Practitioner"}
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(urls) == len(set(urls))  # dora signed and read: one Practitioner
    assert len(resources(bundle, "Practitioner")) == 1
    report = DiagnosticReport.model_validate(first)
    assert report.performer[0].display == "Dora Reader"
    assert {r.reference for r in report.result} == {
        f"urn:uuid:{o['id']}" for o in resources(bundle, "Observation")
    }
    assert "not a diagnosis" in report.conclusion


def test_numbers_round_trip_to_the_case_summary(signed_case, dora, fetch_bundle):
    bundle = fetch_bundle(login(dora), signed_case)
    summary = case_summary(case=signed_case)
    expected = {
        "cells-blast": summary.counts["label_all"],
        "cells-normal": summary.counts["label_hem"],
        "cells-unsure": summary.counts["label_unsure"],
        "cells-artifact": summary.counts["label_artifact"],
        "cells-unreviewed": summary.counts["unreviewed"],
    }
    assert expected["cells-blast"] == CALLS.count("all") == 4
    for code, count in expected.items():
        assert observation(bundle, code)["valueQuantity"]["value"] == count
    blast_model = observation(bundle, "cells-blast")["component"][0]["valueQuantity"]["value"]
    assert blast_model == summary.counts["predicted_all"] == 5
    fraction = observation(bundle, "blast-fraction")
    estimate, low, high = summary.current_fraction.percents
    assert fraction["valueQuantity"]["value"] == pytest.approx(estimate, abs=0.005)
    interval = fraction["component"][0]["valueRange"]
    assert interval["low"]["value"] == pytest.approx(low, abs=0.005)
    assert interval["high"]["value"] == pytest.approx(high, abs=0.005)
    assert interval["low"]["code"] == "%" and interval["low"]["system"] == codes.UCUM
    flag = observation(bundle, "blast-flag")
    assert flag["valueBoolean"] is summary.flagged is True  # 4 of 9 > 0.2
    threshold = flag["component"][0]["valueQuantity"]["value"]
    assert threshold == pytest.approx(100 * summary.threshold)
    assert "not a diagnosis" in flag["note"][0]["text"]


def test_device_carries_the_model_version_its_sha256_and_frozen_set_metrics(signed_case, dora):
    device = resources(_bundle(signed_case, dora), "Device")[0]
    assert device["deviceName"][0]["name"] == "m-fhir"
    versions = {v["type"]["coding"][0]["code"]: v["value"] for v in device["version"]}
    assert versions["checkpoint-sha256"] == "ab" * 32
    properties = {
        p["type"]["coding"][0]["code"]: p["valueQuantity"][0]["value"] for p in device["property"]
    }
    assert properties["metric-weighted-f1"] == 0.87 and properties["eval-patients"] == 8
    assert "metric-roc-auc" not in properties  # unknown metrics are left out, never zero


def test_patient_is_referenced_by_pseudonymous_code_only(signed_case, dora):
    bundle = _bundle(signed_case, dora)
    assert not resources(bundle, "Patient")
    subject = bundle["entry"][0]["resource"]["subject"]
    assert subject["identifier"]["value"] == "FHIR-0001" and set(subject) == {"type", "identifier"}
    specimen = resources(bundle, "Specimen")[0]
    assert specimen["identifier"][0]["value"] == "SPEC-77"
    text = json.dumps(bundle)
    assert "cell_0.png" not in text  # original file names never leave


def test_open_case_is_409_unless_preliminary_and_then_says_so(open_case, dora, fetch_bundle):
    client = login(dora)
    refused = client.get(f"/api/v1/cases/{open_case.pk}/fhir/")
    assert refused.status_code == 409 and "preliminary" in refused.json()["detail"]
    label_as(open_case, dora, CALLS)
    bundle = fetch_bundle(client, open_case, "?status=preliminary")
    report = bundle["entry"][0]["resource"]
    assert report["status"] == "preliminary" and "performer" not in report
    assert {o["status"] for o in resources(bundle, "Observation")} == {"preliminary"}
    assert observation(bundle, "cells-blast")["valueQuantity"]["value"] == 4
    assert client.get(f"/api/v1/cases/{open_case.pk}/fhir/?status=bogus").status_code == 400


def test_amended_report_after_reopen_points_at_the_replaced_one(signed_case, alice, dora):
    first = SignOff.objects.get(case=signed_case)
    case_reopen(case=signed_case, user=alice, reason="cell 3 is a blast")
    ids = list(signed_case.cells.order_by("id").values_list("id", flat=True))
    from allreview.review.services.labels import labels_set_bulk

    labels_set_bulk(case=signed_case, user=dora, values={ids[3]: "all"})
    case_sign_off(case=signed_case, user=dora)
    signed_case.refresh_from_db()
    bundle = _bundle(signed_case, dora)
    report = bundle["entry"][0]["resource"]
    assert report["status"] == "amended"
    provenance = resources(bundle, "Provenance")[0]
    assert provenance["target"][0]["reference"] == f"urn:uuid:{report['id']}"
    replaced = provenance["entity"][0]
    assert replaced["role"] == "revision"
    assert replaced["what"]["identifier"]["value"] == f"case-{signed_case.pk}-signoff-{first.pk}"
    assert report["identifier"][0]["value"] != replaced["what"]["identifier"]["value"]
    assert "cell 3 is a blast" in provenance["reason"][0]["text"]
    assert observation(bundle, "cells-blast")["valueQuantity"]["value"] == 5


def test_the_same_sign_off_gives_the_same_bundle(signed_case, dora):
    assert _bundle(signed_case, dora) == _bundle(signed_case, dora)


def test_a_case_being_classified_has_no_report(open_case, dora):
    open_case.status = "classifying"
    open_case.save()
    with pytest.raises(NotSignedOff):
        case_report(case=open_case, user=dora, preliminary=True)


def test_download_is_an_attachment(signed_case, uma):
    response = login(uma).get(f"/api/v1/cases/{signed_case.pk}/fhir/?download=1")
    assert response.status_code == 200
    assert 'filename="allreview-case' in response["Content-Disposition"]


def test_fhir_clients_accept_header_and_token_auth_are_served(signed_case, dora):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=dora).key}")
    response = client.get(
        f"/api/v1/cases/{signed_case.pk}/fhir/", HTTP_ACCEPT="application/fhir+json"
    )
    assert response.status_code == 200
    Bundle.model_validate_json(response.content)


def test_outsiders_get_404_and_a_blinded_reader_no_preliminary(open_case, bob, alice, dora):
    from allreview.cases.models import CaseStatus
    from allreview.projects.models import Role
    from allreview.review.services.readers import case_reader_add
    from tests.factories import MembershipFactory, UserFactory

    assert (
        login(bob).get(f"/api/v1/cases/{open_case.pk}/fhir/?status=preliminary").status_code == 404
    )
    erin = UserFactory(username="erin")
    MembershipFactory(project=open_case.project, user=erin, role=Role.REVIEWER)
    case_reader_add(case=open_case, user=alice, reader=erin)  # second reader: blinded
    assert open_case.status == CaseStatus.READY
    blinded = login(erin).get(f"/api/v1/cases/{open_case.pk}/fhir/?status=preliminary")
    assert blinded.status_code == 403
    assert login(erin).get(f"/cases/{open_case.pk}/report/").status_code == 403
