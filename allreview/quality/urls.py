from __future__ import annotations

from django.urls import path

from allreview.quality import views

app_name = "quality"

urlpatterns = [
    path("<int:project_id>/quality/", views.reader_quality, name="reader_quality"),
    path("<int:project_id>/quality/pool/", views.reference_pool, name="reference_pool"),
    path("<int:project_id>/quality/pool/add/", views.reference_add, name="reference_add"),
    path(
        "<int:project_id>/quality/pool/<int:reference_id>/retire/",
        views.reference_retire,
        name="reference_retire",
    ),
    path("<int:project_id>/quality/settings/", views.quality_settings, name="quality_settings"),
]
