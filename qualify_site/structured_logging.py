"""Structured logs: JSON lines in production, readable lines in development.

structlog loggers (django-structlog's request and task lines) and plain
`logging.getLogger(__name__)` loggers come out in the same shape, through one
ProcessorFormatter: stdlib records get the bound context (request_id,
task_id, batch_id, ...) and their `extra` fields added by `foreign_pre_chain`.
Every line passes `redact` last, so no credential reaches a log whoever logs it.

Imported by settings: structlog only, nothing that needs Django set up.
"""

import re

import structlog

REDACTED = "[redacted]"

# Field names whose values are credentials (compared lowercased, "-" read as "_").
_SENSITIVE_NAMES = frozenset(
    {
        "authorization",
        "http_authorization",
        "proxy_authorization",
        "password",
        "writekey",
        "write_key",
        "token",
        "api_key",
        "apikey",
        "secret",
        "cookie",
        "http_cookie",
        "set_cookie",
        "sessionid",
        "csrftoken",
        "csrfmiddlewaretoken",
        "credentials",
    }
)
_SENSITIVE_SUFFIXES = ("_password", "_token", "_secret", "_writekey", "_write_key")

_CREDENTIAL_NAME = r"writekey|write_key|password|token|access_token|secret|api_key|apikey|authorization"
# Credentials inside free text: auth headers, query strings, dict and JSON reprs.
_TEXT_PATTERNS = (
    (re.compile(r"(?i)\b(basic|bearer|token)\s+[A-Za-z0-9+/._~=-]{8,}"), rf"\1 {REDACTED}"),
    (re.compile(rf"(?i)\b({_CREDENTIAL_NAME})=[^&\s\"'<>]+"), rf"\1={REDACTED}"),
    (re.compile(rf"(?i)([\"']?\b(?:{_CREDENTIAL_NAME})[\"']?\s*:\s*[\"'])[^\"']*([\"'])"), rf"\1{REDACTED}\2"),
)
# Nested values deeper than this are dropped rather than walked: a log line is not a data dump.
_MAX_DEPTH = 8


def is_sensitive(name: object) -> bool:
    if not isinstance(name, str):
        return False
    normalized = name.lower().replace("-", "_")
    return normalized in _SENSITIVE_NAMES or normalized.endswith(_SENSITIVE_SUFFIXES)


def redact_text(text: str) -> str:
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redacted(value: object, depth: int = 0) -> object:
    if isinstance(value, str):
        return redact_text(value)
    if depth >= _MAX_DEPTH:
        return "..."
    if isinstance(value, dict):
        return {k: REDACTED if is_sensitive(k) else _redacted(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item, depth + 1) for item in value]
    return value


def redact(logger, method_name: str, event_dict: dict) -> dict:
    """structlog processor: credentials out of every field and every text."""
    return _redacted(event_dict)


# Added to every line, whether it comes from structlog or from a stdlib logger.
_SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def formatter_config(log_format: str) -> dict:
    """A logging.config formatter entry rendering JSON ("json") or readable lines ("console")."""
    renderer = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        "foreign_pre_chain": [
            *_SHARED_PROCESSORS,
            # `extra={...}` of stdlib calls becomes fields of the line.
            structlog.stdlib.ExtraAdder(),
            structlog.stdlib.PositionalArgumentsFormatter(),
        ],
    }


def logging_config(*, log_format: str, level: str) -> dict:
    if log_format not in ("json", "console"):
        raise ValueError(f"LOG_FORMAT must be json or console, got {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": formatter_config(log_format)},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # django-structlog's request_finished line replaces Django's own
            # "Not Found: /x" / "Unauthorized: /v1/batch" lines.
            "django.request": {"level": "ERROR"},
        },
    }


def configure_structlog() -> None:
    """structlog loggers hand their events to stdlib logging, formatted by `formatter_config`."""
    structlog.configure(
        processors=[
            # Below the logger's level, skip the rest of the work.
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
