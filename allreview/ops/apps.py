from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: health and readiness probes, JSON logs, deploy commands."""

    name = "allreview.ops"
    label = "ops"
