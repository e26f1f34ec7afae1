"""System checks that catch a production deployment still running on the demo defaults."""

from django.conf import settings
from django.core import checks

DEV_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 - the known-bad value we detect


def production_problems(*, secret_key: str, database_engine: str, is_celery_eager: bool) -> list[checks.CheckMessage]:
    problems = []
    if secret_key == DEV_SECRET_KEY:
        problems.append(
            checks.Error(
                "SECRET_KEY is the development default.", hint="Set SECRET_KEY in the environment.", id="qualify.E001"
            )
        )
    if database_engine.endswith("sqlite3"):
        problems.append(
            checks.Warning(
                "The database is the embedded SQLite file.",
                hint="Set DATABASE_URL to PostgreSQL for production.",
                id="qualify.W001",
            )
        )
    if is_celery_eager:
        problems.append(
            checks.Warning(
                "Celery runs tasks inside web requests (eager mode).",
                hint="Set REDIS_URL and run workers and beat (see README, Production).",
                id="qualify.W002",
            )
        )
    return problems


@checks.register(checks.Tags.security, deploy=True)
def check_production_settings(app_configs, **kwargs):
    return production_problems(
        secret_key=settings.SECRET_KEY,
        database_engine=settings.DATABASES["default"]["ENGINE"],
        is_celery_eager=settings.CELERY_TASK_ALWAYS_EAGER,
    )
