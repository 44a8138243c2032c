"""A case report as a FHIR R4 Bundle (type `collection`), every resource validated as it is
built by the fhir.resources models (its R4B package: FHIR 4.3, the R4 line; only elements that
R4 4.0.1 has are used, see docs/fhir.md).

Bundle: DiagnosticReport (final, amended or preliminary), its Observations (cells per class with
the model's calls beside them, the blast fraction with its Wilson interval as a Range, the
model's blast fraction, the decision-support flag with its threshold), the Specimen, the Device
(the model version, its sha256 and frozen-set metrics), a Practitioner per signer and reader,
and for an amended report a Provenance pointing at the report it replaces. The patient is a
reference by pseudonymous code only: no Patient resource, no name.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias, cast

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from allreview.interop import codes
from allreview.interop.selectors import CaseReport, report_key
from allreview.review.stats import Proportion

if TYPE_CHECKING:
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.resource import Resource

Json: TypeAlias = dict[str, object]
CONTENT_TYPE = "application/fhir+json; fhirVersion=4.0"
REPORT_STATUSES = frozenset({"final", "amended", "preliminary"})

# (summary row letter, code of its Observation, the model's count key or None)
COUNT_ROWS = {
    "B": ("cells-blast", "predicted_all"),
    "N": ("cells-normal", "predicted_hem"),
    "U": ("cells-unsure", None),
    "X": ("cells-artifact", None),
    "–": ("cells-unreviewed", None),
}


def _model(kind: str) -> type[Resource]:
    """The fhir.resources model of a resource type, imported on first use: the models cost the
    web process ~27 MB and half a second, paid only once it serves a report."""
    from fhir.resources.R4B import get_fhir_model_class

    return cast("type[Resource]", get_fhir_model_class(kind))


class _Entries:
    """The bundle's entries so far, each with a urn:uuid fullUrl fixed by the report and its
    place in it: the same report gives the same ids every time it is built."""

    def __init__(self, key: str) -> None:
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"{settings.FHIR_SYSTEM_BASE}/{key}")
        self.items: list[tuple[str, Resource]] = []

    def uid(self, name: str) -> str:
        return str(uuid.uuid5(self.namespace, name))

    def add(self, name: str, kind: str, body: Json) -> Json:
        """Validate `body` as a `kind` resource and add it; a reference to it comes back."""
        rid = self.uid(name)
        reference: Json = {"reference": f"urn:uuid:{rid}", "type": kind}
        if any(url == reference["reference"] for url, _ in self.items):
            return reference  # one entry per resource (a signer who also read the case)
        resource = _model(kind).model_validate({**body, "resourceType": kind, "id": rid})
        self.items.append((f"urn:uuid:{rid}", resource))
        return reference


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _percent(value: float) -> Json:
    return {"value": round(100 * value, 2), "unit": "%", "system": codes.UCUM, "code": "%"}


def _cells(n: int) -> Json:
    return {"value": n, "unit": "cells", "system": codes.UCUM, "code": "{cells}"}


def _patient(report: CaseReport) -> Json:
    system = codes.identifier_system("project", report.case.project_id, "patient-code")
    return {
        "type": "Patient",
        "identifier": {"system": system, "value": report.case.patient_code},
    }


def _practitioner(entries: _Entries, user: AbstractBaseUser) -> Json:
    name = getattr(user, "get_full_name", lambda: "")() or user.get_username()
    body: Json = {
        "resourceType": "Practitioner",
        "identifier": [{"system": codes.identifier_system("user"), "value": user.get_username()}],
        "name": [{"text": name}],
    }
    return {**entries.add(f"practitioner/{user.pk}", "Practitioner", body), "display": name}


def _device(entries: _Entries, report: CaseReport) -> Json | None:
    version = report.model_version
    if version is None:
        return None
    properties: list[Json] = []
    metrics = report.score.metrics if report.score else {}
    for key, (code, _display) in codes.METRICS.items():
        value = metrics.get(key)
        if isinstance(value, int | float):
            properties.append({"type": codes.concept(code), "valueQuantity": [{"value": value}]})
    if report.score is not None:
        properties.append(
            {"type": codes.concept("eval-cells"), "valueQuantity": [_cells(report.score.n_cells)]}
        )
        properties.append(
            {
                "type": codes.concept("eval-patients"),
                "valueQuantity": [{"value": report.score.n_patients, "unit": "patients"}],
            }
        )
    body: Json = {
        "resourceType": "Device",
        "identifier": [{"system": codes.identifier_system("model-version"), "value": version.name}],
        "deviceName": [{"name": version.name, "type": "model-name"}],
        "type": codes.concept("cell-classifier"),
        "version": [
            {"type": codes.concept("checkpoint-sha256"), "value": version.sha256},
            {"type": codes.concept("architecture"), "value": version.architecture},
        ],
        "note": [{"text": _device_note(report)}],
    }
    if properties:
        body["property"] = properties
    return {**entries.add("device", "Device", body), "display": version.name}


def _device_note(report: CaseReport) -> str:
    if report.score is None:
        return "Not scored on the project's frozen evaluation set at the time of this report."
    return (
        f"Metrics on the project's frozen, patient-disjoint evaluation set "
        f"({report.score.n_cells} cells of {report.score.n_patients} patients)."
    )


def _specimen(entries: _Entries, report: CaseReport) -> Json | None:
    if not report.case.specimen_id:
        return None
    system = codes.identifier_system("project", report.case.project_id, "specimen-id")
    body: Json = {
        "resourceType": "Specimen",
        "identifier": [{"system": system, "value": report.case.specimen_id}],
        "subject": _patient(report),
        "note": [{"text": "Single white-blood-cell images of a stained smear."}],
    }
    return entries.add("specimen", "Specimen", body)


def _observation(report: CaseReport, code: str, extra: Json, common: Json) -> Json:
    return {
        "resourceType": "Observation",
        "status": "preliminary" if report.status == "preliminary" else "final",
        "category": [{"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": "laboratory"}]}],
        "code": codes.concept(code),
        **common,
        **extra,
    }


def _fraction_value(fraction: Proportion) -> Json:
    """The estimate as valueQuantity and the Wilson interval as a Range component; with nothing
    to count, a data-absent reason instead."""
    if fraction.estimate is None or fraction.low is None or fraction.high is None:
        absent = {"coding": [{"system": codes.DATA_ABSENT, "code": "not-applicable"}]}
        return {"dataAbsentReason": absent}
    interval = {"low": _percent(fraction.low), "high": _percent(fraction.high)}
    return {
        "valueQuantity": _percent(fraction.estimate),
        "component": [
            {"code": codes.concept("ci95-wilson"), "valueRange": interval},
            {"code": codes.concept("cells-blast"), "valueQuantity": _cells(fraction.successes)},
        ],
        "method": {"text": f"{fraction.successes} of {fraction.total} cells; Wilson score 95%"},
    }


def _observations(entries: _Entries, report: CaseReport, common: Json) -> list[Json]:
    summary, counts = report.summary, report.summary.counts
    refs = []
    for row in summary.rows:
        code, model_key = COUNT_ROWS[row.letter]
        extra: Json = {"valueQuantity": _cells(row.reviewed)}
        if model_key is not None:
            extra["component"] = [
                {
                    "code": codes.concept("model-call-count"),
                    "valueQuantity": _cells(counts[model_key]),
                }
            ]
        body = _observation(report, code, extra, common)
        refs.append(entries.add(f"observation/{code}", "Observation", body))
    fraction = _observation(
        report, "blast-fraction", _fraction_value(summary.current_fraction), common
    )
    refs.append(entries.add("observation/blast-fraction", "Observation", fraction))
    model = _observation(
        report, "model-blast-fraction", _fraction_value(summary.model_fraction), common
    )
    if "device" in common:
        refs.append(entries.add("observation/model-blast-fraction", "Observation", model))
    refs.append(entries.add("observation/blast-flag", "Observation", _flag(report, common)))
    return refs


def _flag(report: CaseReport, common: Json) -> Json:
    summary = report.summary
    extra: Json = {
        "valueBoolean": summary.flagged,
        "component": [
            {
                "code": codes.concept("flag-threshold"),
                "valueQuantity": _percent(summary.threshold),
            }
        ],
        "note": [{"text": codes.DECISION_SUPPORT}],
    }
    if summary.current_fraction.estimate is None:
        extra["note"] = [{"text": "No cell was called blast or normal. " + codes.DECISION_SUPPORT}]
    return _observation(report, "blast-flag", extra, common)


def _conclusion(report: CaseReport) -> str:
    summary = report.summary
    p = summary.current_fraction.percents
    threshold = f"{100 * summary.threshold:.1f}%"
    if p is None:
        measured = "No cell was called blast or normal."
    else:
        measured = (
            f"Blast fraction {p[0]:.1f}% (95% CI {p[1]:.1f}-{p[2]:.1f}%, Wilson) of "
            f"{summary.current_fraction.total} cells called blast or normal."
        )
    flag = "above" if summary.flagged else "not above"
    return f"{measured} Flag: {flag} the threshold of {threshold}. {codes.DECISION_SUPPORT}"


def _provenance(entries: _Entries, report: CaseReport, target: Json, signer: Json | None) -> None:
    """For an amended report: the revision of the report it replaces, and why it was reopened."""
    if report.replaces is None:
        return
    replaced = {
        "type": "DiagnosticReport",
        "identifier": {
            "system": codes.identifier_system("diagnostic-report"),
            "value": report_key(report.case, report.replaces),
        },
        "display": f"Report of sign-off {report.replaces.pk}, replaced",
    }
    body: Json = {
        "resourceType": "Provenance",
        "target": [target],
        "recorded": _instant(report.issued),
        "activity": {"coding": [{"system": codes.DATA_OPERATION, "code": "UPDATE"}]},
        "entity": [{"role": "revision", "what": replaced}],
    }
    if report.reopen_reason:
        body["reason"] = [{"text": f"Reopened: {report.reopen_reason}"}]
    if signer is not None:
        author = {"coding": [{"system": codes.PROVENANCE_AGENT, "code": "author"}]}
        body["agent"] = [{"type": author, "who": signer}]
    else:
        body["agent"] = [{"who": {"display": "AllReview"}}]
    entries.add("provenance", "Provenance", body)


def bundle_build(report: CaseReport) -> Bundle:
    """The report as a validated Bundle (each resource validated as it is added)."""
    if report.status not in REPORT_STATUSES:
        raise ValueError(f"{report.status!r} is not a report status")
    entries = _Entries(report.report_key)
    signer = _practitioner(entries, report.signer) if report.signer else None
    readers = [_practitioner(entries, user) for user in report.readers]
    device = _device(entries, report)
    specimen = _specimen(entries, report)
    common: Json = {
        "subject": _patient(report),
        "effectiveDateTime": _instant(report.case.created_at),
    }
    common["issued"] = _instant(report.issued)
    if specimen:
        common["specimen"] = specimen
    if device:
        common["device"] = device
    if signer:
        common["performer"] = [signer]
    results = _observations(entries, report, common)
    diagnostic = _diagnostic_report(report, common, results, readers)
    target = entries.add("diagnostic-report", "DiagnosticReport", diagnostic)
    _provenance(entries, report, target, signer)
    # The report first: a reader of the bundle finds the entry point without searching.
    first = "DiagnosticReport"
    ordered = sorted(entries.items, key=lambda item: item[1].get_resource_type() != first)
    from fhir.resources.R4B.bundle import Bundle

    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": entries.uid("bundle"),
            "identifier": {
                "system": codes.identifier_system("bundle"),
                "value": entries.uid("bundle"),
            },
            "type": "collection",
            "timestamp": _instant(report.issued),
            "entry": [
                {"fullUrl": url, "resource": resource.model_dump()} for url, resource in ordered
            ],
        }
    )


def _diagnostic_report(
    report: CaseReport, common: Json, results: list[Json], readers: list[Json]
) -> Json:
    body: Json = {
        "resourceType": "DiagnosticReport",
        "identifier": [
            {"system": codes.identifier_system("diagnostic-report"), "value": report.report_key}
        ],
        "status": report.status,
        "category": [
            {"coding": [{"system": codes.V2_0074, "code": "HM", "display": "Hematology"}]}
        ],
        "code": codes.concept("cell-image-review"),
        "subject": common["subject"],
        "effectiveDateTime": common["effectiveDateTime"],
        "issued": common["issued"],
        "result": results,
        "conclusion": _conclusion(report),
    }
    if "performer" in common:
        body["performer"] = common["performer"]
    if readers:
        body["resultsInterpreter"] = readers
    if "specimen" in common:
        body["specimen"] = [common["specimen"]]
    return body


def bundle_json(bundle: Bundle) -> str:
    return bundle.model_dump_json(indent=2)
