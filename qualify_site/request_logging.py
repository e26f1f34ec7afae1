"""Request ids and the request log line (django-structlog), without credentials.

RequestIdMiddleware runs first: it keeps a sane incoming X-Request-ID (set by
the load balancer or a client retrying) or makes one, hands it to
django-structlog's middleware (which binds it to every log line of the request
and to the Celery tasks the request enqueues), and echoes it in the response.
"""

import re
import uuid

from django_structlog.middlewares import RequestMiddleware

from qualify_site.client_address import client_address
from qualify_site.structured_logging import redact_text
from qualify_site.unavailable import is_dependency_unavailable

# Letters, digits and a few separators, as load balancers and tracing headers
# use; anything else (spaces, quotes, newlines, kilobytes) could forge or
# break log lines, so it is replaced.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else str(uuid.uuid4())
        # django-structlog reads it from the headers (DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID).
        request.META["HTTP_X_REQUEST_ID"] = request_id
        request.request_id = request_id
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class RequestLogMiddleware(RequestMiddleware):
    """django-structlog's request_started / request_finished lines, with our client address
    (never a forgeable X-Forwarded-For) and credentials in the query string redacted."""

    @classmethod
    def bind_ip(cls, request) -> None:
        import structlog

        structlog.contextvars.bind_contextvars(ip=client_address(request))

    @staticmethod
    def bind_user_id(request) -> None:
        # Reading the user reads the session from the database. With the
        # database down that must not fail here, in a middleware, as a 500: the
        # view meets the same error and answers 503 (qualify_site.unavailable).
        try:
            RequestMiddleware.bind_user_id(request)
        except Exception as error:
            if not is_dependency_unavailable(error):
                raise

    @staticmethod
    def format_request(request) -> str:
        return redact_text(f"{request.method} {request.get_full_path()}")
