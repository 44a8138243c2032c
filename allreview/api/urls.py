from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from allreview.api import views
from allreview.api.model_versions import ModelVersionViewSet
from allreview.interop.api import case_fhir  # issue 15

router = DefaultRouter()
router.register("projects", views.ProjectViewSet, basename="project")
router.register("cases", views.CaseViewSet, basename="case")
router.register("cells", views.CellViewSet, basename="cell")
router.register("predictions", views.PredictionViewSet, basename="prediction")
router.register("models", ModelVersionViewSet, basename="model-version")

urlpatterns = [
    # issue 15: a case's FHIR R4 report (allreview/interop)
    path("v1/cases/<int:case_id>/fhir/", case_fhir, name="case-fhir"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
