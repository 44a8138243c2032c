"""A project's field scale: its typical lymphocyte's diameter in field pixels."""

from __future__ import annotations

from django.conf import settings

from allreview.fields.models import FieldSettings


def project_cell_diameter(*, project_id: int) -> float:
    own = (
        FieldSettings.objects.filter(project_id=project_id)
        .values_list("cell_diameter", flat=True)
        .first()
    )
    return float(own if own is not None else settings.FIELD_CELL_DIAMETER)
