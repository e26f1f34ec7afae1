"""The Segment HTTP Tracking API, mounted at /v1/ by qualify_site/urls.py."""

from django.urls import path

from leads.ingest import views

app_name = "ingest"
urlpatterns = [
    path("identify", views.identify, name="identify"),
    path("track", views.track, name="track"),
    path("page", views.page, name="page"),
    path("screen", views.screen, name="screen"),
    path("group", views.group, name="group"),
    path("alias", views.alias, name="alias"),
    path("batch", views.batch, name="batch"),
    # Segment's historical-import endpoint takes the same body as /v1/batch.
    path("import", views.batch, name="import"),
]
