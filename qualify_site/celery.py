"""The one Celery app. Tasks live in each app's tasks.py and are found by autodiscovery."""

import os

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualify_site.settings")

app = Celery("qualify")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task lines carry their task id and the request id of what enqueued them.
app.steps["worker"].add(DjangoStructLogInitStep)


@setup_logging.connect
def logging_from_django_settings(loglevel=None, **kwargs) -> None:
    """Workers and beat log like the web processes (settings.LOGGING: JSON in
    production) instead of Celery's own plain format, at the level of their
    --loglevel, as Celery's own setup would."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


@task_prerun.connect
@task_postrun.connect
def database_connections_tidy(sender=None, **kwargs) -> None:
    """Between tasks, what Django does between requests: close a connection that is
    broken or older than CONN_MAX_AGE, keep a healthy one (CELERY_DB_REUSE_MAX stops
    Celery from closing every connection around every task). Not for eager tasks:
    they run inside the caller's transaction."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections  # Django is set up by the time tasks run

    close_old_connections()
