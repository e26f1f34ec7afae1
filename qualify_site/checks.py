"""System checks that catch a production deployment still running on the demo defaults."""

from django.conf import settings
from django.core import checks

DEV_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 - the known-bad value we detect


def production_problems(
    *,
    secret_key: str,
    database_engine: str,
    is_celery_eager: bool,
    is_debug: bool,
    allowed_hosts: list[str],
    secure_proxy_ssl_header: tuple[str, str] | None,
    is_ssl_redirect: bool,
) -> list[checks.CheckMessage]:
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
    if not is_debug and "*" in allowed_hosts:
        # Django's own deploy checks only flag an empty list; "*" lets any Host
        # header through, which poisons password-reset and notification links.
        problems.append(
            checks.Warning(
                "ALLOWED_HOSTS contains '*' with DEBUG off: any Host header is accepted.",
                hint="Set ALLOWED_HOSTS to the host names Qualify is served under, e.g. qualify.example.com.",
                id="qualify.W003",
            )
        )
    if not is_debug and (secure_proxy_ssl_header is None or not is_ssl_redirect):
        # gunicorn speaks plain HTTP; TLS is the load balancer's job, and Django
        # only knows a request came over TLS when told to trust its header.
        problems.append(
            checks.Warning(
                "Production settings without TLS: "
                + ("no proxy TLS header is trusted." if secure_proxy_ssl_header is None else "HTTP is not redirected."),
                hint="Serve Qualify behind a TLS-terminating proxy that sets X-Forwarded-Proto, set "
                "BEHIND_TLS_PROXY=True and leave SECURE_SSL_REDIRECT at its default (True).",
                id="qualify.W004",
            )
        )
    return problems


@checks.register(checks.Tags.security, deploy=True)
def check_production_settings(app_configs, **kwargs):
    return production_problems(
        secret_key=settings.SECRET_KEY,
        database_engine=settings.DATABASES["default"]["ENGINE"],
        is_celery_eager=settings.CELERY_TASK_ALWAYS_EAGER,
        is_debug=settings.DEBUG,
        allowed_hosts=settings.ALLOWED_HOSTS,
        secure_proxy_ssl_header=settings.SECURE_PROXY_SSL_HEADER,
        is_ssl_redirect=settings.SECURE_SSL_REDIRECT,
    )
