"""The insights pages (/insights/...): conversion, calibration and what precedes buying (backtests are in the admin)."""

from django.urls import path

from insights.views import calibration, conversion

app_name = "insights"
urlpatterns = [
    path("", conversion.conversion_page, name="conversion"),
    path("calibration/", calibration.calibration_page, name="calibration"),
    path("precedes/", calibration.precedes_page, name="precedes"),
    path("reports/<int:report_id>/", calibration.report_fragment, name="report"),
    path("reports/<int:report_id>/recompute/", calibration.report_recompute, name="report_recompute"),
]
