from django.apps import AppConfig


class PipelineConfig(AppConfig):
    """The order of the work above leads, scoring and routing (README.md beside this file).

    An app without models: it is installed so that Celery's autodiscovery finds its
    tasks and Django finds its management commands."""

    name = "pipeline"
