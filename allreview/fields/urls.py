from __future__ import annotations

from django.urls import path

from allreview.fields import views

app_name = "fields"

urlpatterns = [
    path("<int:field_id>/", views.field_detail, name="field_detail"),
    path("<int:field_id>/image/", views.field_image, name="field_image"),
    path("<int:field_id>/cells/", views.field_cells, name="field_cells"),
    path("cells/<int:cell_id>/reject/", views.detection_reject, name="detection_reject"),
    path("cells/<int:cell_id>/restore/", views.detection_restore, name="detection_restore"),
]
