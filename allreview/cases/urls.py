from __future__ import annotations

from django.urls import path

from allreview.cases import views

app_name = "cases"

urlpatterns = [
    path("cases/new/", views.case_upload, name="case_upload"),
    path("cases/<int:case_id>/retry/", views.case_retry, name="case_retry"),
]
