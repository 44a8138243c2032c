"""Code systems and codes used in the FHIR reports.

Standard systems where a fitting code exists (HL7 v2 table 0074 for the report's section, the
observation-category and data-operation code systems, UCUM units); the AllReview code system
for what no LOINC or SNOMED CT code describes exactly (counts of single-cell image calls, the
Wilson interval, the model's decision-support flag). docs/fhir.md lists every code.
"""

from __future__ import annotations

from django.conf import settings

# A fixed URL, the same on every installation, so a receiving system maps these codes once.
ALLREVIEW = "https://allreview.example.org/fhir/CodeSystem/allreview"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
UCUM = "http://unitsofmeasure.org"

DISPLAY = {
    "cell-image-review": "Single-cell image review for leukemic blasts (ALL), decision support",
    "cells-blast": "Cells called blast (ALL)",
    "cells-normal": "Cells called normal (HEM)",
    "cells-unsure": "Cells called unsure",
    "cells-artifact": "Cells called artifact",
    "cells-unreviewed": "Cells left unreviewed",
    "model-call-count": "Cells the model called in this class",
    "blast-fraction": "Blast fraction among cells called blast or normal",
    "model-blast-fraction": "Blast fraction among the model's calls",
    "ci95-wilson": "95% confidence interval (Wilson score)",
    "blast-flag": "Patient-level blast flag (decision support)",
    "flag-threshold": "Blast fraction above which the patient is flagged",
    "cell-classifier": "Single-cell image classifier (CNN)",
    "checkpoint-sha256": "SHA-256 of the model checkpoint",
    "architecture": "Model architecture",
}

# Metrics of a model version on the project's frozen, patient-disjoint evaluation set.
METRICS = {
    "weighted_f1": ("metric-weighted-f1", "Weighted F1 on the frozen evaluation set"),
    "sensitivity": ("metric-blast-sensitivity", "Blast sensitivity on the frozen set"),
    "specificity": ("metric-specificity", "Specificity on the frozen set"),
    "roc_auc": ("metric-roc-auc", "ROC AUC on the frozen set"),
    "ece": ("metric-calibration-error", "Expected calibration error on the frozen set"),
}
for _code, _display in METRICS.values():
    DISPLAY[_code] = _display
DISPLAY["eval-cells"] = "Cells in the frozen evaluation set"
DISPLAY["eval-patients"] = "Patients in the frozen evaluation set"

DECISION_SUPPORT = (
    "Decision support for trained staff: the counts and the flag come from a machine "
    "pre-classification reviewed by the readers named here; they are not a diagnosis."
)


def coding(code: str) -> dict[str, str]:
    return {"system": ALLREVIEW, "code": code, "display": DISPLAY[code]}


def concept(code: str) -> dict[str, object]:
    return {"coding": [coding(code)], "text": DISPLAY[code]}


def identifier_system(*parts: object) -> str:
    """An identifier system of this installation (FHIR_SYSTEM_BASE), e.g. a project's patient
    codes: `<base>/project/3/patient-code`."""
    base = settings.FHIR_SYSTEM_BASE.rstrip("/")
    return "/".join([base, *(str(p) for p in parts)])
