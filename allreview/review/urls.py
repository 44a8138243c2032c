from __future__ import annotations

from django.urls import path

from allreview.review import views

app_name = "review"

urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("cases/new/", views.case_upload, name="case_upload"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<int:case_id>/retry/", views.case_retry, name="case_retry"),
    path("cells/<int:cell_id>/label/", views.cell_label, name="cell_label"),
    path("cells/<int:cell_id>/image/", views.cell_image, name="cell_image"),
    path("cells/<int:cell_id>/thumbnail/", views.cell_thumbnail, name="cell_thumbnail"),
]
