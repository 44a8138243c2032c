from __future__ import annotations

from django.urls import path

from allreview.training import views

app_name = "training"

urlpatterns = [
    path("<int:project_id>/models/", views.registry, name="registry"),
    path("<int:project_id>/models/compare/", views.model_compare, name="compare"),
    path("<int:project_id>/models/<int:version_id>/", views.model_detail, name="model_detail"),
    path(
        "<int:project_id>/models/<int:version_id>/<slug:chart>.svg",
        views.model_chart,
        name="model_chart",
    ),
    # Charts are SVG now; the .png addresses of earlier releases still answer (with the SVG, its
    # Content-Type says so) so that saved links and bookmarks keep working.
    path(
        "<int:project_id>/models/<int:version_id>/<slug:chart>.png",
        views.model_chart,
        name="model_chart_png",
    ),
    path("<int:project_id>/models/<int:version_id>/promote/", views.model_promote, name="promote"),
    path("<int:project_id>/training/", views.runs, name="runs"),
    path("<int:project_id>/training/request/", views.run_request, name="run_request"),
    path("<int:project_id>/training/runs/<int:run_id>/", views.run_status, name="run_status"),
    path(
        "<int:project_id>/training/runs/<int:run_id>/curves.svg",
        views.run_curves,
        name="run_curves",
    ),
    path(
        "<int:project_id>/training/runs/<int:run_id>/curves.png",
        views.run_curves,
        name="run_curves_png",
    ),
    path("<int:project_id>/training/pretrain/", views.pretrain_request, name="pretrain_request"),
    path(
        "<int:project_id>/training/pretrain/<int:pretrain_id>/",
        views.pretrain_status,
        name="pretrain_status",
    ),
    path("<int:project_id>/training/evaluation/", views.evaluation_add, name="evaluation_add"),
    path("<int:project_id>/drift/", views.drift, name="drift"),
]
