from django.apps import AppConfig


class QualifySiteConfig(AppConfig):
    name = "qualify_site"
    verbose_name = "Qualify"

    def ready(self):
        from qualify_site import checks  # noqa: F401 - registers the system checks
