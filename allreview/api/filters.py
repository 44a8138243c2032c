"""Filters of the API's list endpoints.

Ids are plain numbers here, not model choices: a choice filter validates the id against every
row (400 "not a valid choice" for a missing id, 200 for another lab's), which would tell a user
which ids exist in other projects. As numbers, an id of another lab and an id nobody has both
give an empty page, and a non-number is a 400 either way. The querysets are already limited to
the user's projects.
"""

from __future__ import annotations

import django_filters

from allreview.cases.models import Case, Prediction


class CaseFilter(django_filters.FilterSet):  # type: ignore[misc]  # django-filter has no types
    project = django_filters.NumberFilter(field_name="project_id")

    class Meta:
        model = Case
        fields = ["project", "status", "patient_code"]


class PredictionFilter(django_filters.FilterSet):  # type: ignore[misc]  # no types either
    cell = django_filters.NumberFilter(field_name="cell_id")
    cell__case = django_filters.NumberFilter(field_name="cell__case_id")
    model_version = django_filters.NumberFilter(field_name="model_version_id")

    class Meta:
        model = Prediction
        fields = ["cell", "cell__case", "model_version"]
