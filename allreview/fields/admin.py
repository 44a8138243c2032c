from __future__ import annotations

from django.contrib import admin

from allreview.fields.models import FieldSettings


@admin.register(FieldSettings)
class FieldSettingsAdmin(admin.ModelAdmin):
    list_display = ("project", "cell_diameter")
