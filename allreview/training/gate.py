"""The promotion gate: a candidate replaces production only when it is not worse where it matters,
and a production model no better than a trivial one holds nobody back."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

# A classifier that calls every cell one class has balanced accuracy 0.5; a production model
# within this margin of it (e.g. sensitivity 1.0, specificity 0.1: 0.55) is treated as trivial.
TRIVIAL_MARGIN = 0.05
TRIVIAL_LEVEL = 0.5 + TRIVIAL_MARGIN


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(metrics: dict[str, Any] | None, key: str) -> float | None:
    value = (metrics or {}).get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def balanced_accuracy(metrics: dict[str, Any] | None) -> float | None:
    """The metrics' own figure, else the mean of sensitivity and specificity (older scores)."""
    value = _number(metrics, "balanced_accuracy")
    if value is not None:
        return value
    sensitivity, specificity = _number(metrics, "sensitivity"), _number(metrics, "specificity")
    if sensitivity is None or specificity is None:
        return None
    return (sensitivity + specificity) / 2


def healthy_patient_accuracy(metrics: dict[str, Any] | None) -> float | None:
    """Mean per-patient accuracy over the healthy (hem) patients of the frozen set."""
    return _number(metrics, "patient_macro_accuracy_hem")


def gate_figures(candidate: dict[str, Any], production: dict[str, Any] | None) -> dict[str, Any]:
    """The figures the gate weighs, for the run and model pages."""

    def figures(metrics: dict[str, Any] | None) -> dict[str, float | None] | None:
        if metrics is None:
            return None
        return {
            "weighted_f1": _number(metrics, "weighted_f1"),
            "sensitivity": _number(metrics, "sensitivity"),
            "specificity": _number(metrics, "specificity"),
            "balanced_accuracy": balanced_accuracy(metrics),
            "patient_macro_accuracy": _number(metrics, "patient_macro_accuracy"),
            "patient_macro_accuracy_hem": healthy_patient_accuracy(metrics),
        }

    return {"candidate": figures(candidate), "production": figures(production)}


def trivial_reason(production: dict[str, Any] | None) -> str:
    """Why production is no better than a trivial classifier on the frozen set ('' when it is)."""
    ba = balanced_accuracy(production)
    if ba is not None and ba <= TRIVIAL_LEVEL:
        return f"balanced accuracy {ba:.3f}"
    hem = healthy_patient_accuracy(production)
    if hem is not None and hem <= TRIVIAL_LEVEL:
        return f"healthy-patient accuracy {hem:.3f}"
    return ""


def gate_decide(
    *,
    candidate: dict[str, Any],
    production: dict[str, Any] | None,
    sensitivity_floor: float,
    sensitivity_tolerance: float,
) -> GateDecision:
    """Promote when blast sensitivity >= the floor and, against a production model better than
    a trivial one, weighted F1 >= production's while neither blast sensitivity nor healthy-patient
    accuracy is below production's by more than the tolerance. Every failed condition is a
    reason."""
    f1 = _number(candidate, "weighted_f1")
    sensitivity = _number(candidate, "sensitivity")
    if f1 is None or sensitivity is None:
        return GateDecision(False, ["the candidate has no score on the frozen evaluation set"])
    reasons: list[str] = []
    if sensitivity < sensitivity_floor:
        reasons.append(
            f"blast sensitivity {sensitivity:.3f} is below the floor {sensitivity_floor:.3f}"
        )
    trivial = trivial_reason(production)
    if not trivial:
        reasons += _against_production(candidate, production, sensitivity_tolerance)
    if reasons:
        return GateDecision(False, reasons)
    prod_f1 = _number(production, "weighted_f1")
    if trivial:
        versus = f" (production is no better than a trivial model: {trivial})"
    elif prod_f1 is not None:
        versus = f" (production: F1 {prod_f1:.3f})"
    else:
        versus = " (no production score)"
    return GateDecision(
        True, [f"weighted F1 {f1:.3f}, blast sensitivity {sensitivity:.3f}{versus}"]
    )


def _against_production(
    candidate: dict[str, Any], production: dict[str, Any] | None, tolerance: float
) -> list[str]:
    reasons = []
    f1, prod_f1 = _number(candidate, "weighted_f1"), _number(production, "weighted_f1")
    if f1 is not None and prod_f1 is not None and f1 < prod_f1:
        reasons.append(f"weighted F1 {f1:.3f} is below production's {prod_f1:.3f}")
    for label, cand, prod in (
        (
            "blast sensitivity",
            _number(candidate, "sensitivity"),
            _number(production, "sensitivity"),
        ),
        (
            "healthy-patient accuracy",
            healthy_patient_accuracy(candidate),
            healthy_patient_accuracy(production),
        ),
    ):
        if cand is not None and prod is not None and cand < prod - tolerance:
            reasons.append(
                f"{label} {cand:.3f} is more than {tolerance:.3f} below production's {prod:.3f}"
            )
    return reasons
