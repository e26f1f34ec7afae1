"""Pages of calibration and what precedes buying, included under /insights/."""

from django.urls import path

from insights import views_calibration

app_name = "insights-calibration"
urlpatterns = [
    path("calibration/", views_calibration.calibration_page, name="calibration"),
    path("precedes/", views_calibration.precedes_page, name="precedes"),
]
