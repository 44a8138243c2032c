from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("allreview.api.urls")),
    path("projects/", include("allreview.training.urls")),
    path("audit/", include("allreview.review.audit_urls")),
    path("account/", include("allreview.accounts.urls")),
    path("exports/", include("allreview.exports.urls")),
    path("fields/", include("allreview.fields.urls")),  # issue 14: whole smear fields
    path("projects/", include("allreview.agreement.urls")),
    path("projects/", include("allreview.quality.urls")),
    path("projects/", include("allreview.projects.urls")),
    path("", include("allreview.interop.urls")),  # issue 15: reports, FHIR server setting
    path("", include("allreview.ops.urls")),
    path("", include("allreview.cases.urls")),
    path("", include("allreview.review.urls")),
]
