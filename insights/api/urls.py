from django.urls import path

from insights.api import views

app_name = "insights-api"
urlpatterns = [
    path("conversion/", views.ConversionGetApi.as_view(), name="conversion"),
]
