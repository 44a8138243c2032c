from __future__ import annotations

from django.contrib import admin

from allreview.lib.admin import ReadOnlyAdmin
from allreview.pretraining.models import PretrainRun


@admin.register(PretrainRun)
class PretrainRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "project",
        "profile",
        "status",
        "n_cells",
        "epoch",
        "epochs",
        "created_at",
    )
    list_filter = ("status", "profile")
