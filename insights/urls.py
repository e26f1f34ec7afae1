"""The insights pages (/insights/...): conversion here; calibration and backtests join beside it."""

from django.urls import path

from insights.views import conversion

app_name = "insights"
urlpatterns = [
    path("", conversion.conversion_page, name="conversion"),
]
