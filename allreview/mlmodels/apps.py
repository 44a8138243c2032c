from __future__ import annotations

from django.apps import AppConfig


class MlmodelsConfig(AppConfig):
    name = "allreview.mlmodels"
    label = "mlmodels"
