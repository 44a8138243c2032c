"""The promotion gate: a candidate replaces production only when it is not worse where it matters,
and a production model no better than a trivial one holds nobody back. The decision is plain
arithmetic on the two models' figures (`gate_decide`); `run_gate` applies it to a run's
candidate, and `deploy` is every way a project's production model changes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from allreview.audit.services import audit_record
from allreview.cases import tasks as cases_tasks
from allreview.lib.queueing import enqueue_on_commit
from allreview.lib.users import AnyUser
from allreview.mlmodels.models import DeploymentKind, ModelVersion
from allreview.mlmodels.selectors import model_version_production
from allreview.mlmodels.services import model_version_promote
from allreview.projects.models import Project
from allreview.training.models import RunStatus, TrainingPolicy, TrainingRun
from allreview.training.runs import policy_for, run_log
from allreview.training.scoring import model_version_score

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


# --- Applying the decision ---------------------------------------------------------------------


def run_gate(run: TrainingRun, candidate: ModelVersion, policy: TrainingPolicy) -> None:
    project = run.project
    production = model_version_production(project=project)
    candidate_score = model_version_score(version=candidate, project=project)
    production_score = (
        model_version_score(version=production, project=project) if production else None
    )
    decision = gate_decide(
        candidate=candidate_score.metrics if candidate_score else {},
        production=production_score.metrics if production_score else None,
        sensitivity_floor=policy.sensitivity_floor,
        sensitivity_tolerance=policy.sensitivity_tolerance,
    )
    gate = {
        **decision.as_dict(),
        "production": production.name if production else None,
        "figures": gate_figures(
            candidate_score.metrics if candidate_score else {},
            production_score.metrics if production_score else None,
        ),
    }
    with transaction.atomic():
        if decision.promote:
            deploy(
                project=project,
                version=candidate,
                actor=None,
                reason="gate passed: " + "; ".join(decision.reasons),
                kind=DeploymentKind.GATE,
                policy=policy,
            )
        TrainingRun.objects.filter(pk=run.pk).update(
            status=RunStatus.SUCCEEDED,
            gate=gate,
            reason="" if decision.promote else "Held as candidate: " + "; ".join(decision.reasons),
            finished_at=timezone.now(),
        )
        audit_record(
            action="training.gate",
            project_id=project.pk,
            target=candidate,
            after=gate,
        )
    run_log(run.pk, ("promoted: " if decision.promote else "held: ") + "; ".join(decision.reasons))


@transaction.atomic
def model_version_promote_manual(
    *, project: Project, version: ModelVersion, user: AnyUser, reason: str
) -> None:
    """An admin's promotion or rollback in their project, whatever the gate said; the reason is
    required. Only this project's pointer moves."""
    if not reason.strip():
        raise ValueError("a reason is required to promote or roll back by hand")
    deploy(
        project=project,
        version=version,
        actor=user,
        reason=reason.strip(),
        kind=None,
        policy=policy_for(project),
    )


def deploy(
    *,
    project: Project,
    version: ModelVersion,
    actor: AnyUser | None,
    reason: str,
    kind: str | None,
    policy: TrainingPolicy,
) -> None:
    """Every way a project's production model changes (promotion, rollback, the gate) treats
    its open cases alike: reclassified with the new model when the project's policy says so."""
    model_version_promote(version=version, project=project, actor=actor, reason=reason, kind=kind)
    if policy.reclassify_open_cases:
        enqueue_on_commit(cases_tasks.cases_reclassify_open, project.pk)
