from __future__ import annotations

from django.urls import path

from allreview.projects import views

app_name = "projects"

urlpatterns = [path("", views.project_list, name="list")]
