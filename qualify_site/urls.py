from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from qualify_site import api_docs, views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("admin/", admin.site.urls),
    # Reps are not staff: they sign in here, not through the admin.
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Segment HTTP Tracking API (wire compatible): /v1/identify, /v1/track, /v1/batch, ...
    path("v1/", include("leads.ingest_urls")),
    path("api/", include("leads.api.urls")),
    path("api/routing/", include("routing.api.urls")),
    # Outcomes from the CRM (routing moves the leads' stages with them).
    path("api/outcomes/", include("routing.api.outcome_urls")),
    path("scoring/", include("scoring.urls")),
    path("insights/", include("insights.urls_calibration")),
    path("api/insights/", include("insights.api.urls_calibration")),
    # The lead workspace (/leads/<id>/), the page notification links open.
    path("", include("routing.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs.swagger_ui, name="api-docs"),
    path("api/redoc/", api_docs.redoc, name="api-redoc"),
]

# Under /api/ a URL that matches no route answers the API's JSON error body, not an HTML page.
handler404 = "qualify_site.api.errors.page_not_found"
