from __future__ import annotations

from django.urls import path

from allreview.agreement import views

app_name = "agreement"

urlpatterns = [path("<int:project_id>/agreement/", views.agreement, name="agreement")]
