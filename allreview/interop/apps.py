from __future__ import annotations

from django.apps import AppConfig


class InteropConfig(AppConfig):
    """Signed cases out to other systems: FHIR R4 reports (API, download, push) and the printable
    case report. Reads the review record; nothing below imports it."""

    name = "allreview.interop"
    label = "interop"
