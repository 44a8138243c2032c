"""The audit trail pages, under /audit/ (their rows are audit's; what a reader may see of them is
review's blinding rule)."""

from __future__ import annotations

from django.urls import path

from allreview.review.views import audit as views

app_name = "audit"

urlpatterns = [
    path("projects/<int:project_id>/", views.project_audit, name="project"),
    path("cases/<int:case_id>/", views.case_audit, name="case"),
]
