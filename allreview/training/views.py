"""Pages of the retraining loop: model registry, comparison, training runs, drift."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from allreview.mlmodels.models import ModelStatus
from allreview.mlmodels.selectors import (
    deployments_of,
    model_statuses,
    model_version_for,
    model_version_production,
    model_versions_visible,
)
from allreview.pretraining import services as pretraining
from allreview.pretraining.models import PretrainRun
from allreview.pretraining.selectors import pretrain_backbone_latest, pretrain_runs_of
from allreview.projects.access import project_and_role_for, project_for
from allreview.projects.models import Project
from allreview.projects.permissions import Action, role_allows
from allreview.training import charts, evaluation, gate, selectors
from allreview.training import runs as training_runs
from allreview.training.gate import gate_figures
from allreview.training.models import EvaluationPatient, RunTrigger, TrainingRun
from allreview.training.scoring import latest_score


def _project(request: HttpRequest, project_id: int, action: Action = Action.VIEW) -> Project:
    return project_for(user=request.user, project_id=project_id, action=action)


def _str(value: int | None) -> str | None:
    return str(value) if value is not None else None


def _svg(data: str) -> HttpResponse:
    response = HttpResponse(data, content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, max-age=60"
    return response


@login_required
@require_GET
def registry(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_and_role_for(user=request.user, project_id=project_id)
    context = {
        "project": project,
        "rows": selectors.registry_rows(project=project),
        "frozen": EvaluationPatient.objects.filter(project=project).count(),
        "can_manage": role_allows(role, Action.MANAGE),
        "deployments": deployments_of(project=project)[:20],
    }
    return render(request, "training/registry.html", context)


@login_required
@require_GET
def model_detail(request: HttpRequest, project_id: int, version_id: int) -> HttpResponse:
    project, role = project_and_role_for(user=request.user, project_id=project_id)
    version = model_version_for(project=project, version_id=version_id)
    production = model_version_production(project=project)
    score = latest_score(version=version, project=project)
    context = {
        "project": project,
        "version": version,
        "status": model_statuses(project=project).get(version.pk, ModelStatus.CANDIDATE),
        "score": score,
        "figures": gate_figures(score.metrics if score else {}, None)["candidate"],
        "production": production,
        "summary": version.training_summary.get("train", {}),
        "can_manage": role_allows(role, Action.MANAGE),
        "deployments": deployments_of(project=project).filter(model_version=version),
    }
    return render(request, "training/model_detail.html", context)


@login_required
@require_GET
def model_chart(request: HttpRequest, project_id: int, version_id: int, chart: str) -> HttpResponse:
    project = _project(request, project_id)
    version = model_version_for(project=project, version_id=version_id)
    if chart == "curves":
        return _svg(charts.curves_svg(version.training_summary.get("history", []), version.name))
    if chart == "confusion":
        score = latest_score(version=version, project=project)
        return _svg(charts.confusion_svg(score.metrics.get("confusion") if score else None))
    if chart == "reliability":
        targets, probabilities = selectors.evaluation_predictions(
            project=project, version_id=version.pk
        )
        return _svg(charts.reliability_svg(targets, probabilities))
    raise Http404("No such chart")


@login_required
@require_POST
def model_promote(request: HttpRequest, project_id: int, version_id: int) -> HttpResponse:
    project = _project(request, project_id, Action.MANAGE)
    version = model_version_for(project=project, version_id=version_id)
    try:
        gate.model_version_promote_manual(
            project=project,
            version=version,
            user=request.user,
            reason=request.POST.get("reason", ""),
        )
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{version.name} is now in production.")
    return redirect("training:model_detail", project_id=project_id, version_id=version_id)


@login_required
@require_GET
def model_compare(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id)
    versions = model_versions_visible(project=project)
    a, b = request.GET.get("a"), request.GET.get("b")
    if not (a and b):
        first, second = selectors.compare_defaults(project=project)
        a, b = a or _str(first), b or _str(second)
    changes: list[dict[str, Any]] = []
    if a and b and a.isdigit() and b.isdigit():
        # another project's private version is no more comparable than viewable
        model_version_for(project=project, version_id=int(a))
        model_version_for(project=project, version_id=int(b))
        changes = selectors.changed_calls(project=project, version_a=int(a), version_b=int(b))
    context = {"project": project, "versions": versions, "a": a, "b": b, "changes": changes}
    return render(request, "training/compare.html", context)


@login_required
@require_GET
def runs(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_and_role_for(user=request.user, project_id=project_id)
    policy = training_runs.policy_for(project)
    context = {
        "project": project,
        "runs": TrainingRun.objects.filter(project=project).select_related("candidate")[:50],
        "policy": policy,
        "frozen": EvaluationPatient.objects.filter(project=project),
        "new_labels": selectors.new_final_labels_count(project=project),
        "frozen_needs": _frozen_needs(project),
        "can_manage": role_allows(role, Action.MANAGE),
        "can_adjudicate": role_allows(role, Action.ADJUDICATE),
        "pretrain_runs": pretrain_runs_of(project=project)[:5],
        "pretrain_backbone": pretrain_backbone_latest(project=project, profile=policy.profile),
    }
    return render(request, "training/runs.html", context)


def _frozen_needs(project: Project) -> dict[str, Any] | None:
    """When the automatic frozen set cannot be chosen yet: patients per class, and how many."""
    if EvaluationPatient.objects.filter(project=project).exists():
        return None
    needed = evaluation.patients_needed_per_class(
        training_runs.policy_for(project).evaluation_share
    )
    have = {k: len(v) for k, v in selectors.patients_by_majority(project=project).items()}
    if not needed or min(have.values()) >= needed:
        return None
    return {"needed": needed, "all": have["all"], "hem": have["hem"]}


@login_required
@require_POST
def run_request(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id, Action.MANAGE)
    try:
        run = training_runs.training_run_request(
            project=project, trigger=RunTrigger.MANUAL, user=request.user
        )
    except training_runs.RunRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, f"Run #{run.pk}: {run.get_status_display()}. {run.reason}")
    return redirect("training:runs", project_id=project_id)


@login_required
@require_POST
def pretrain_request(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id, Action.MANAGE)
    profile = training_runs.policy_for(project).profile
    try:
        run = pretraining.pretrain_run_request(project=project, profile=profile, user=request.user)
    except pretraining.PretrainRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.info(
            request,
            f"Pretraining #{run.pk} queued: {run.n_cells} cells, {run.epochs} epochs of {profile}.",
        )
    return redirect("training:runs", project_id=project_id)


@login_required
@require_GET
def pretrain_status(request: HttpRequest, project_id: int, pretrain_id: int) -> JsonResponse:
    project = _project(request, project_id)
    run = get_object_or_404(PretrainRun, pk=pretrain_id, project=project)
    return JsonResponse(
        {
            "status": run.status,
            "epoch": run.epoch,
            "epochs": run.epochs,
            "progress_percent": run.progress_percent,
            "losses": run.losses,
            "reason": run.reason,
        }
    )


@login_required
@require_GET
def run_status(request: HttpRequest, project_id: int, run_id: int) -> JsonResponse:
    project = _project(request, project_id)
    run = get_object_or_404(TrainingRun, pk=run_id, project=project)
    return JsonResponse(
        {
            "status": run.status,
            "epoch": run.epoch,
            "epochs": run.epochs,
            "progress_percent": run.progress_percent,
            "history": run.history,
            "reason": run.reason,
        }
    )


@login_required
@require_GET
def run_curves(request: HttpRequest, project_id: int, run_id: int) -> HttpResponse:
    project = _project(request, project_id)
    run = get_object_or_404(TrainingRun, pk=run_id, project=project)
    return _svg(charts.curves_svg(run.history, f"run #{run.pk}"))


@login_required
@require_POST
def evaluation_add(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id, Action.ADJUDICATE)
    codes = [c.strip() for c in request.POST.get("patient_codes", "").split(",") if c.strip()]
    added = evaluation.evaluation_patients_add(
        project=project, patient_codes=codes, user=request.user
    )
    messages.info(request, f"{added} patient(s) added to the frozen evaluation set.")
    return redirect("training:runs", project_id=project_id)


@login_required
@require_GET
def drift(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _project(request, project_id)
    rows = selectors.drift_by_week(project=project)
    if request.GET.get("format") in {"svg", "png"}:  # "png": the address of earlier releases
        return _svg(charts.drift_svg(rows))
    context = {
        "project": project,
        "rows": rows,
        "warnings": selectors.drift_warnings(rows, settings.DRIFT_BANDS),
        "bands": settings.DRIFT_BANDS,
    }
    return render(request, "training/drift.html", context)
