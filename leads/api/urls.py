from django.urls import path

from leads.api import views
from qualify_site.views import TokenObtainApi

app_name = "leads-api"
urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="token"),
    path("leads/", views.LeadListApi.as_view(), name="lead-list"),
    path("leads/<int:lead_id>/", views.LeadDetailApi.as_view(), name="lead-detail"),
    path("accounts/", views.AccountListApi.as_view(), name="account-list"),
    path("accounts/<int:account_id>/", views.AccountDetailApi.as_view(), name="account-detail"),
    path("events/", views.EventListApi.as_view(), name="event-list"),
    path("events/<int:event_id>/", views.EventDetailApi.as_view(), name="event-detail"),
]
