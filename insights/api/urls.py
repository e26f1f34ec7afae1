from django.urls import path

from insights.api import views
from insights.api.calibration import CalibrationApi
from insights.api.precedes import PrecedesApi

app_name = "insights-api"
urlpatterns = [
    path("conversion/", views.ConversionGetApi.as_view(), name="conversion"),
    path("calibration/", CalibrationApi.as_view(), name="calibration"),
    path("precedes/", PrecedesApi.as_view(), name="precedes"),
]
