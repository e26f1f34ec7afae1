"""Routes of the calibration and what-precedes-buying API, included under /api/insights/."""

from django.urls import path

from insights.api.calibration import CalibrationApi
from insights.api.precedes import PrecedesApi

app_name = "insights-calibration-api"
urlpatterns = [
    path("calibration/", CalibrationApi.as_view(), name="calibration"),
    path("precedes/", PrecedesApi.as_view(), name="precedes"),
]
