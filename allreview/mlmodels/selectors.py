from __future__ import annotations

from allreview.mlmodels.models import ModelStatus, ModelVersion


def model_version_production() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelStatus.PRODUCTION).first()
