"""Which model versions a project sees, and which one it runs."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from allreview.mlmodels.models import Deployment, ModelStatus, ModelVersion
from allreview.projects.models import Project


def model_version_production(*, project: Project | int | None = None) -> ModelVersion | None:
    """The project's production model: the version of its newest deployment, else the
    installation default (a shared version). Without a project: the installation default."""
    deployment = None
    if project is not None:
        project_id = project.pk if isinstance(project, Project) else project
        deployment = _newest(Deployment.objects.filter(project_id=project_id))
    if deployment is None:
        deployment = _newest(Deployment.objects.filter(project__isnull=True))
    return deployment.model_version if deployment is not None else None


def _newest(deployments: QuerySet[Deployment]) -> Deployment | None:
    return deployments.select_related("model_version").order_by("-id").first()


def model_versions_visible(*, project: Project) -> QuerySet[ModelVersion]:
    """The project's own versions and the shared ones; never another project's."""
    project_id = getattr(project, "pk", project)
    return ModelVersion.objects.filter(Q(project__isnull=True) | Q(project_id=project_id))


def model_version_for(*, project: Project, version_id: int) -> ModelVersion:
    """One version as a project may see it; another project's private version is a 404."""
    version = model_versions_visible(project=project).filter(pk=version_id).first()
    if version is None:
        raise Http404("No such model version")
    return version


def deployments_of(*, project: Project | None) -> QuerySet[Deployment]:
    """The project's own promotion history, newest first."""
    return (
        Deployment.objects.filter(project=project)
        .select_related("model_version", "actor")
        .order_by("-id")
    )


def model_statuses(*, project: Project) -> dict[int, str]:
    """Each version's standing in this project: production (its current model), retired (it was
    production here before) or, absent from the dict, a candidate."""
    history = list(deployments_of(project=project).values_list("model_version_id", flat=True))
    statuses: dict[int, str] = dict.fromkeys(history, ModelStatus.RETIRED)
    production_id = history[0] if history else getattr(model_version_production(), "pk", None)
    if production_id is not None:
        statuses[production_id] = ModelStatus.PRODUCTION
    return statuses


def production_sha256s() -> set[str]:
    """Checkpoints that some project (or the installation default) runs now: the worker's model
    cache keeps these over older versions loaded for saliency or scoring."""
    newest: dict[int | None, str] = {}
    rows = Deployment.objects.order_by("id").values_list("project_id", "model_version__sha256")
    for project_id, sha256 in rows:
        newest[project_id] = sha256
    return set(newest.values())
