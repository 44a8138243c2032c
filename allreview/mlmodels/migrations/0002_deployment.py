"""Models per project: a version may belong to a project, and each project's production model is
its newest Deployment. Today's single production model becomes every existing project's first
deployment (and the installation default for projects created later); the installation-wide
`status` goes, since production is now a per-project fact."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CARRIED_OVER = "carried over from the installation-wide production model (models per project)"


def forwards(apps, schema_editor):
    ModelVersion = apps.get_model("mlmodels", "ModelVersion")
    Deployment = apps.get_model("mlmodels", "Deployment")
    Project = apps.get_model("projects", "Project")
    TrainingRun = apps.get_model("training", "TrainingRun")
    production = ModelVersion.objects.filter(status="production").first()
    # A candidate of a training run was trained on that project's labels: it is the project's.
    # The production model stays shared: every project has been running it, so every project
    # keeps seeing it.
    for run in TrainingRun.objects.exclude(candidate=None).select_related("candidate"):
        if production is None or run.candidate_id != production.pk:
            ModelVersion.objects.filter(pk=run.candidate_id).update(project_id=run.project_id)
    if production is None:
        return
    targets = [None, *Project.objects.order_by("pk").values_list("pk", flat=True)]
    for project_id in targets:
        Deployment.objects.create(
            project_id=project_id, model_version=production, kind="promote", reason=CARRIED_OVER
        )
    if production.promoted_at is not None:
        Deployment.objects.filter(model_version=production).update(
            created_at=production.promoted_at
        )


def backwards(apps, schema_editor):
    ModelVersion = apps.get_model("mlmodels", "ModelVersion")
    Deployment = apps.get_model("mlmodels", "Deployment")
    newest = Deployment.objects.filter(project__isnull=True).order_by("-id").first()
    newest = newest or Deployment.objects.order_by("-id").first()
    if newest is not None:
        ModelVersion.objects.exclude(pk=newest.model_version_id).filter(
            pk__in=Deployment.objects.values("model_version_id")
        ).update(status="retired")
        ModelVersion.objects.filter(pk=newest.model_version_id).update(
            status="production", promoted_at=newest.created_at
        )


TABLE = "mlmodels_deployment"


def triggers(apps, schema_editor):
    """The promotion history is append-only in the database too (audit's refusal function)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION allreview_refuse_change()"
        )
    elif vendor == "sqlite":
        for op in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER {TABLE}_no_{op.lower()} BEFORE {op} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} rows are append-only'); END"
            )


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
    elif vendor == "sqlite":
        for op in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{op}")


class Migration(migrations.Migration):
    dependencies = [
        ("mlmodels", "0001_initial"),
        ("projects", "0002_blinding"),
        ("training", "0002_nightly_schedule"),
        ("audit", "0002_append_only_triggers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Deployment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("promote", "Promotion"),
                            ("rollback", "Rollback"),
                            ("gate", "Promoted by the gate"),
                        ],
                        max_length=16,
                    ),
                ),
                ("reason", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "model_version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deployments",
                        to="mlmodels.modelversion",
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deployments",
                        to="projects.project",
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
                "indexes": [
                    models.Index(fields=["project", "-id"], name="deployment_project_newest")
                ],
            },
        ),
        migrations.AddField(
            model_name="modelversion",
            name="project",
            field=models.ForeignKey(
                blank=True,
                help_text="empty: a shared base model (the starter, an imported C-NMC model)",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="model_versions",
                to="projects.project",
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RunPython(triggers, drop_triggers),
    ]
