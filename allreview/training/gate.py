"""The promotion gate: a candidate replaces production only when it is not worse where it matters."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


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


def gate_decide(
    *,
    candidate: dict[str, Any],
    production: dict[str, Any] | None,
    sensitivity_floor: float,
    sensitivity_tolerance: float,
) -> GateDecision:
    """Promote when weighted F1 >= production's, blast sensitivity >= the floor, and sensitivity
    is not below production's by more than the tolerance. Every failed condition is a reason."""
    f1 = _number(candidate, "weighted_f1")
    sensitivity = _number(candidate, "sensitivity")
    if f1 is None or sensitivity is None:
        return GateDecision(False, ["the candidate has no score on the frozen evaluation set"])
    reasons: list[str] = []
    if sensitivity < sensitivity_floor:
        reasons.append(
            f"blast sensitivity {sensitivity:.3f} is below the floor {sensitivity_floor:.3f}"
        )
    prod_f1 = _number(production, "weighted_f1")
    prod_sensitivity = _number(production, "sensitivity")
    if prod_f1 is not None and f1 < prod_f1:
        reasons.append(f"weighted F1 {f1:.3f} is below production's {prod_f1:.3f}")
    if prod_sensitivity is not None and sensitivity < prod_sensitivity - sensitivity_tolerance:
        reasons.append(
            f"blast sensitivity {sensitivity:.3f} is more than {sensitivity_tolerance:.3f} below "
            f"production's {prod_sensitivity:.3f}"
        )
    if reasons:
        return GateDecision(False, reasons)
    versus = f" (production: F1 {prod_f1:.3f})" if prod_f1 is not None else " (no production score)"
    return GateDecision(
        True, [f"weighted F1 {f1:.3f}, blast sensitivity {sensitivity:.3f}{versus}"]
    )
