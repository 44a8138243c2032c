from __future__ import annotations

from django.apps import AppConfig


class QualityConfig(AppConfig):
    """Reader QC: known-answer reference cells mixed into readers' galleries, and the figures
    they give per reader."""

    name = "allreview.quality"
    label = "quality"

    def ready(self) -> None:
        from allreview.cases import standins
        from allreview.quality import placement

        standins.provider_register(placement.stand_ins_provide)
        standins.recorder_register(placement.reference_reads_record)
