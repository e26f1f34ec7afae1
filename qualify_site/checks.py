"""System checks that catch a production deployment still running on the demo defaults."""

from django.conf import settings
from django.core import checks

DEV_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 - the known-bad value we detect


@checks.register(checks.Tags.security, deploy=True)
def check_production_settings(app_configs, **kwargs):
    problems = []
    if settings.SECRET_KEY == DEV_SECRET_KEY:
        problems.append(
            checks.Error(
                "SECRET_KEY is the development default.", hint="Set SECRET_KEY in the environment.", id="qualify.E001"
            )
        )
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        problems.append(
            checks.Warning(
                "The database is the embedded SQLite file.",
                hint="Set DATABASE_URL to PostgreSQL for production.",
                id="qualify.W001",
            )
        )
    if settings.CELERY_TASK_ALWAYS_EAGER:
        problems.append(
            checks.Warning(
                "Celery runs tasks inside web requests (eager mode).",
                hint="Set REDIS_URL and run workers and beat (see README, Production).",
                id="qualify.W002",
            )
        )
    return problems
