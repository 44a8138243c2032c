from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from allreview.api import views
from allreview.api.model_versions import ModelVersionViewSet

router = DefaultRouter()
router.register("projects", views.ProjectViewSet, basename="project")
router.register("cases", views.CaseViewSet, basename="case")
router.register("cells", views.CellViewSet, basename="cell")
router.register("predictions", views.PredictionViewSet, basename="prediction")
router.register("models", ModelVersionViewSet, basename="model-version")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
