from __future__ import annotations

from django.urls import path

from allreview.exports import views

app_name = "exports"

urlpatterns = [
    path("<int:project_id>/cells.csv", views.cells_csv, name="cells_csv"),
    path("<int:project_id>/cells.json", views.cells_json, name="cells_json"),
    path("<int:project_id>/cnmc.zip", views.cnmc_zip, name="cnmc_zip"),
]
