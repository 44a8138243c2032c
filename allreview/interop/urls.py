from __future__ import annotations

from django.urls import path

from allreview.interop import views

app_name = "interop"

urlpatterns = [
    path("cases/<int:case_id>/report/", views.case_report, name="case_report"),
    path("cases/<int:case_id>/fhir/push/", views.case_fhir_push, name="case_fhir_push"),
    path("projects/<int:project_id>/fhir/", views.fhir_endpoint, name="fhir_endpoint"),
]
