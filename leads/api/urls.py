app_name = "leads-api"
urlpatterns: list = []
