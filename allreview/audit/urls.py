from __future__ import annotations

from django.urls import path

from allreview.audit import views

app_name = "audit"

urlpatterns = [
    path("projects/<int:project_id>/", views.project_audit, name="project"),
    path("cases/<int:case_id>/", views.case_audit, name="case"),
]
