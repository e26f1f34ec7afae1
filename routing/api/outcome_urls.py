from django.urls import path

from routing.api.outcomes import OutcomeListApi

app_name = "outcomes-api"
urlpatterns = [
    path("", OutcomeListApi.as_view(), name="list"),
]
