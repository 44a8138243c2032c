from __future__ import annotations

from django.contrib import admin

from allreview.audit.admin import AuditedAdmin
from allreview.lib.admin import ReadOnlyAdmin
from allreview.training.models import EvaluationPatient, ModelScore, TrainingPolicy, TrainingRun


# The gate's thresholds decide which model reads a lab's patients: changes are audited.
@admin.register(TrainingPolicy)
class TrainingPolicyAdmin(AuditedAdmin):
    list_display = [
        "project",
        "profile",
        "min_new_labels",
        "sensitivity_floor",
        "sensitivity_tolerance",
    ]


@admin.register(EvaluationPatient)
class EvaluationPatientAdmin(ReadOnlyAdmin):
    # Additions go through the service (audited, rescored); the admin only shows them.
    list_display = ["project", "patient_code", "added_by", "added_at"]
    list_filter = ["project"]


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "trigger",
        "status",
        "epoch",
        "epochs",
        "candidate",
        "created_at",
    ]
    list_filter = ["status", "trigger", "project"]
    readonly_fields = [f.name for f in TrainingRun._meta.fields]


@admin.register(ModelScore)
class ModelScoreAdmin(admin.ModelAdmin):
    list_display = ["model_version", "project", "n_cells", "n_patients", "created_at"]
    readonly_fields = [f.name for f in ModelScore._meta.fields]
