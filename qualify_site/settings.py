"""Qualify settings: one module, driven by environment variables.

With no DATABASE_URL and no REDIS_URL the app runs on the embedded default:
a SQLite file and Celery in eager mode, so `make demo` works on any machine
with Python 3.11. Production sets the URLs (see README "Production").
Every variable is listed in `.env.example`.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF

from qualify_site import structured_logging

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    # Only the two literal spellings, like healthchecks: "1" or "yes" are
    # mistakes we would rather catch than silently interpret.
    value = os.getenv(name, default)
    if value not in ("True", "False"):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value == "True"


def envint(name: str, default: str) -> int:
    return int(os.getenv(name, default))


DEBUG = envbool("DEBUG", "True")
SECRET_KEY = os.getenv("SECRET_KEY", "dev-only-insecure-key-change-me")
ALLOWED_HOSTS = [h for h in os.getenv("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.getenv("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "qualify_site.admin_site.QualifyAdminConfig",  # django.contrib.admin, roles checked at the door
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "django_structlog",
    "import_export",
    # Serves htmx itself (static/django_htmx/), so pages load it from our origin.
    "django_htmx",
    "qualify_site",
    # Bottom to top: each calls only the ones above it in this list (pipeline/README.md).
    "leads",
    "scoring",
    "routing",
    "pipeline",
    "insights",
]

MIDDLEWARE = [
    # First: every later line of the request, and the response, carry its id.
    "qualify_site.request_logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "qualify_site.request_logging.RequestLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # request.htmx: views answer a fragment to htmx and a whole page otherwise.
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "qualify_site.api.middleware.ApiRequestLimitsMiddleware",
    # The last with a process_exception, so it sees a view's database errors first: 503, not 500.
    "qualify_site.unavailable.DependencyUnavailableMiddleware",
    # Last, as django-axes requires: it turns a lockout into the 429 response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "qualify_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # The top navigation: what the signed-in user's roles may use.
                "qualify_site.navigation.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "qualify_site.wsgi.application"

# --- Database -------------------------------------------------------------
DATABASE_URL = os.getenv("DATABASE_URL", "")
if DATABASE_URL:
    # Persistent connections (web and workers alike), checked before reuse so a
    # database restart costs one reconnect, not a failed request or task.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", "60"), conn_health_checks=True
        )
    }
    # A test run gets its own database name so it never touches real data.
    DATABASES["default"]["TEST"] = {"NAME": os.getenv("TEST_DATABASE_NAME", "test_qualify")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.getenv("SQLITE_PATH") or str(BASE_DIR / "qualify.sqlite3"),
            # WAL lets the dev server read while the demo loader writes.
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery ---------------------------------------------------------------
REDIS_URL = os.getenv("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Embedded default: no broker, so tasks run in-process when enqueued.
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "False" if REDIS_URL else "True")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", "300")
# Celery closes Django's database connections around every task unless this is
# set: a new PostgreSQL connection per 500-event batch cost 17-20 ms of ~80.
# Workers keep theirs (closed every this many tasks), and qualify_site/celery.py
# applies DB_CONN_MAX_AGE and drops broken connections between tasks, as Django
# does between requests.
CELERY_DB_REUSE_MAX = envint("CELERY_DB_REUSE_MAX", "1000")
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", "240")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must not hang a web request when Redis is down: fail fast and let
# the sweeper pick the events up later (they are already committed).
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "sweep-unprocessed-events": {
        "task": "leads.tasks.events_sweep_unprocessed_task",
        "schedule": envint("SWEEP_INTERVAL_SECONDS", "60"),
    },
    "sweep-sla": {
        "task": "routing.tasks.sla_sweep_task",
        "schedule": envint("SLA_SWEEP_INTERVAL_SECONDS", "60"),
    },
    "route-unrouted-leads": {
        "task": "routing.tasks.leads_route_unrouted_task",
        "schedule": envint("ROUTING_SWEEP_INTERVAL_SECONDS", "60"),
    },
    "link-unmatched-outcomes": {
        # Outcomes naming a lead or account nobody had yet, once it appears (routing.services.outcomes).
        "task": "routing.tasks.outcomes_link_unmatched_task",
        "schedule": envint("OUTCOME_LINK_INTERVAL_SECONDS", "300"),
    },
    "drain-pending-rescores": {
        # Safety net: drains are enqueued as batches are processed; this picks
        # up anything a lost task left behind.
        "task": "pipeline.tasks.pending_rescore_drain_task",
        "schedule": envint("RESCORE_DRAIN_INTERVAL_SECONDS", "60"),
    },
    "refresh-decayed-scores": {
        "task": "scoring.tasks.scores_refresh_stale_task",
        "schedule": envint("SCORE_REFRESH_INTERVAL_SECONDS", "3600"),
    },
    "resume-stalled-backtests": {
        "task": "insights.tasks.backtests_resume_stalled_task",
        "schedule": 300,  # a stalled run is one quiet for 10 minutes (insights/services/backtest.py)
    },
    "resume-stalled-insight-reports": {
        "task": "insights.tasks.insight_reports_resume_stalled_task",
        "schedule": 300,  # a stalled report is one queued or running for 10 minutes (insights/services/reports.py)
    },
}

# --- Cache (rate limiting) -------------------------------------------------
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Ingestion ------------------------------------------------------------
# Segment's documented limits: 32 KB per message, 500 KB per batch. Real
# clients (RudderStack, some SDKs) build batches up to 4 MB, so our default
# batch limit is 4 MB and configurable.
INGEST_MAX_MESSAGE_BYTES = envint("INGEST_MAX_MESSAGE_BYTES", str(32 * 1024))
INGEST_MAX_BATCH_BYTES = envint("INGEST_MAX_BATCH_BYTES", str(4 * 1024 * 1024))
# Per source, unless the source sets its own (admin). Sized to refuse a flood,
# never an honest client: one node takes over 10,000 events/s, a backfilling SDK
# sends thousands a second in 500-message batches, and Segment's guidance is
# 1,000 requests/s per workspace. Messages count, not requests, except in the
# request limit, which keeps floods of tiny requests off the web processes.
INGEST_RATE_LIMIT_PER_SECOND = envint("INGEST_RATE_LIMIT_PER_SECOND", "20000")
INGEST_RATE_LIMIT_PER_MINUTE = envint("INGEST_RATE_LIMIT_PER_MINUTE", "600000")
INGEST_RATE_LIMIT_REQUESTS_PER_SECOND = envint("INGEST_RATE_LIMIT_REQUESTS_PER_SECOND", "1000")
INGEST_SWEEP_AFTER_SECONDS = envint("INGEST_SWEEP_AFTER_SECONDS", "120")
# A request must not wait forever behind a lock: past this the write fails, the
# client gets 503 + Retry-After and resends.
INGEST_STATEMENT_TIMEOUT_MS = envint("INGEST_STATEMENT_TIMEOUT_MS", "10000")
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BATCH_BYTES + 1024 * 1024
# Write-key guessing: past this many 401s from one client address in the
# window, that address gets 429 without its key being checked.
INGEST_AUTH_FAILURE_LIMIT = envint("INGEST_AUTH_FAILURE_LIMIT", "20")
INGEST_AUTH_FAILURE_WINDOW_SECONDS = envint("INGEST_AUTH_FAILURE_WINDOW_SECONDS", "300")

# --- Auth / API -----------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out client before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Password guessing at the login page, the admin login and /api/auth/token/.
# Locked by user name and client address together: a guesser is stopped after
# AXES_FAILURE_LIMIT tries at one account, but cannot lock a rep out of their
# own account from another address (which locking by user name alone allows).
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Its banner and per-reset lines on every start and sign-in are noise in the logs; lockouts are still logged.
AXES_VERBOSE = False
# The same address the /v1/ write-key throttle uses (qualify_site/client_address.py).
AXES_CLIENT_IP_CALLABLE = "qualify_site.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "qualify_site.views.login_locked_out"
AXES_HTTP_RESPONSE_CODE = 429
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "qualify_site.api.schema.QualifyAutoSchema",
    # One error body ({code, message, ...}) and 503 + Retry-After when the database is down.
    "EXCEPTION_HANDLER": "qualify_site.api.errors.api_exception_handler",
    # JSON only, with a nesting limit; the body size is checked by ApiRequestLimitsMiddleware.
    "DEFAULT_PARSER_CLASSES": ["qualify_site.api.parsers.BoundedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Qualify API",
    "DESCRIPTION": (
        "Lead qualification, routing and outcomes. Ingestion speaks the Segment HTTP Tracking API at /v1/.\n\n"
        "Every error answers `{code, message}` (bad input adds `field` and `errors`); each operation lists the "
        "statuses it can answer and the limits behind them. Bodies are JSON. A method an operation does not "
        "list answers 405."
    ),
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    # The /v1 ingestion API (plain Django views) joins the schema after the enums are named.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "leads.ingest.openapi.ingestion_api_added",
    ],
    # The same choices appear under several field names; name each enum once.
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "leads.models.Stage",
        "CampaignTypeEnum": "leads.models.CampaignType",
        "EventTypeEnum": "leads.models.EventType",
        "OutcomeKindEnum": "leads.models.OutcomeKind",
    },
}

# --- I18N, static ---------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Security (production) ------------------------------------------------
BEHIND_TLS_PROXY = envbool("BEHIND_TLS_PROXY", "False")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
# How many proxies of ours append the client's address to X-Forwarded-For
# (qualify_site/client_address.py). 0 ignores the header, which the client
# could otherwise forge to dodge the login and write-key throttles.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", "1" if BEHIND_TLS_PROXY else "0")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", str(not DEBUG))
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): everything from our own origin, no
# inline script at all, inline <style> only with the per-response nonce
# (templates write nonce="{{ request.csp_nonce }}"). The API docs load their
# init scripts and styles as files (templates/api_docs/).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        # Swagger UI and ReDoc draw some icons as data: URLs.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# SLA notifications: a generic outgoing webhook (Slack-compatible JSON), signed.
SLA_WEBHOOK_URL = os.getenv("SLA_WEBHOOK_URL", "")
SLA_WEBHOOK_SECRET = os.getenv("SLA_WEBHOOK_SECRET", "")
SLA_WEBHOOK_TIMEOUT_SECONDS = envint("SLA_WEBHOOK_TIMEOUT_SECONDS", "5")
# Links in notifications point here (e.g. https://qualify.example.com).
PUBLIC_BASE_URL = os.getenv("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

EMAIL_BACKEND = os.getenv("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "qualify@localhost")

# Structured logs (qualify_site/structured_logging.py): JSON lines in
# production, readable lines in development; request ids, Celery task ids and
# ingestion batch ids on every line they concern; credentials redacted.
LOG_FORMAT = os.getenv("LOG_FORMAT", "console" if DEBUG else "json")
LOGGING = structured_logging.logging_config(log_format=LOG_FORMAT, level=os.getenv("LOG_LEVEL", "INFO"))
structured_logging.configure_structlog()
# RequestIdMiddleware has already replaced an insane incoming X-Request-ID.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
# Task lines carry task_id, and the request_id (and batch_id) of what enqueued them.
DJANGO_STRUCTLOG_CELERY_ENABLED = True
