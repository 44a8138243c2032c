from __future__ import annotations

from django.apps import AppConfig


class PretrainingConfig(AppConfig):
    name = "allreview.pretraining"
    label = "pretraining"
    verbose_name = "Self-supervised pretraining"
