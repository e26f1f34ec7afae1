"""503 with Retry-After, never a 500, when a dependency (PostgreSQL) is down.

The DRF exception handler (qualify_site.api.errors) answers for the API; the
middleware below answers for every other page (the admin, the login page).
Both log one structured line saying what failed, where.
"""

import logging
import sqlite3

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# Long enough for a database restart or failover, short enough that clients
# (and load balancers) come back soon.
RETRY_AFTER_SECONDS = 10

UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; retry later."


def is_dependency_unavailable(error: BaseException) -> bool:
    """A lost or refused database connection, or a statement cancelled by a timeout.

    Django wraps the driver's errors in its own classes: OperationalError covers
    connection refused, server closed the connection, timeouts and deadlocks;
    InterfaceError a connection already closed. IntegrityError, DataError and
    ProgrammingError are not here: they are our bugs or the client's, not a
    dependency's; nor SQLite's OperationalErrors for a statement it cannot run.
    """
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    # SQLite (the embedded default) reports our own bad SQL as an OperationalError too: that
    # is a bug to see, not a database to wait for.
    cause = error.__cause__
    return not (isinstance(cause, sqlite3.Error) and any(words in str(cause).lower() for words in SQLITE_BUGS))


# SQLite's words for a statement that can never succeed (the rest, "database is locked",
# "unable to open database file", "disk I/O error", are the database's trouble).
SQLITE_BUGS = ("syntax error", "no such table", "no such column", "no such function", "unrecognized token")


def log_unavailable(error: BaseException, *, request, view: str) -> None:
    logger.error(
        "Dependency unavailable, answering 503: %s",
        type(error).__name__,
        extra={
            "event": "dependency_unavailable",
            "dependency": "database",
            "error_class": f"{type(error).__module__}.{type(error).__qualname__}",
            # The driver's first line says what failed ("connection refused", "server closed the
            # connection"); it names host and port, never credentials.
            "error": str(error).strip().splitlines()[0][:200] if str(error).strip() else "",
            "view": view,
            "method": request.method,
            "path": request.path,
        },
    )


def unavailable_body() -> dict:
    return {"code": "unavailable", "message": UNAVAILABLE_MESSAGE}


def unavailable_json_response() -> JsonResponse:
    response = JsonResponse(unavailable_body(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _view_name(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else ""


class DependencyUnavailableMiddleware:
    """Pages other than the API (which its exception handler covers) answer 503 instead of 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_dependency_unavailable(exception):
            return None
        log_unavailable(exception, request=request, view=_view_name(request))
        if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
            return unavailable_json_response()
        # No request context: its processors would ask the database for the user.
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
