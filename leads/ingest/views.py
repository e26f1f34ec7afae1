"""The Segment HTTP Tracking API: /v1/identify, /v1/track, ..., /v1/batch, /v1/import.

Plain function views, kept lean because every event goes through here
(target: 10,000 events/s through /v1/batch on two cores). What clients do
decides the status codes: Segment's libraries retry on 5xx, 429 and timeouts
with the same messageIds, honour Retry-After, and drop the batch on most 4xx.
So a 4xx is only for requests that can never succeed as sent; anything
transient is 429 or 503 with Retry-After.
"""

import base64
import binascii
import json
import logging
import math
import time
import zlib

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from leads.ingest.messages import MAX_NESTING_DEPTH, json_deep_values_pruned
from leads.ingest.write_key_throttle import write_key_failure_record, write_key_retry_after
from leads.models import Source
from leads.services.ingest import batch_ingest
from leads.services.sources import source_get_by_write_key, write_key_hash
from qualify_site.api.middleware import MAX_URI_LENGTH
from qualify_site.client_address import client_address

logger = logging.getLogger(__name__)

# How long a client should wait before retrying when the database is down.
DATABASE_RETRY_AFTER_SECONDS = 10
# What is read as JSON: Segment's libraries send application/json, and
# analytics.js sends text/plain (a "simple" request, no CORS preflight); some
# minimal clients send no Content-Type at all.
JSON_CONTENT_TYPES = frozenset({"application/json", "text/plain", ""})


class IngestError(Exception):
    """A request we answer with an error: HTTP status, machine code, plain-words message."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after

    def response(self) -> JsonResponse:
        response = JsonResponse({"code": self.code, "message": self.message}, status=self.status)
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        return response


def _reject_json_constant(name: str):
    # Python's json accepts NaN and Infinity; JSON and PostgreSQL do not.
    raise ValueError(f"{name} is not valid JSON")


def read_body(request: HttpRequest) -> bytes:
    """The request body, decompressed, never more than INGEST_MAX_BATCH_BYTES.

    The Content-Length check rejects big bodies before reading them; the
    decompression is incremental with a cap on its output, so a gzip bomb
    (a few KB expanding to gigabytes) costs at most the cap in memory.
    """
    limit = settings.INGEST_MAX_BATCH_BYTES
    too_large = IngestError(413, "payload_too_large", f"The request body is over the {limit} byte limit.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise IngestError(400, "bad_request", "Content-Length is not a number.") from None
    if declared > limit:
        raise too_large
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise too_large

    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise IngestError(400, "unsupported_encoding", f"Content-Encoding {encoding!r} is not supported; use gzip.")
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        body = decompressor.decompress(raw, limit + 1)
        if len(body) > limit or decompressor.unconsumed_tail:
            raise IngestError(
                413, "payload_too_large", f"The decompressed request body is over the {limit} byte limit."
            )
        body += decompressor.flush()
    except zlib.error:
        raise IngestError(400, "bad_request", "The body is not valid gzip.") from None
    if len(body) > limit:
        raise IngestError(413, "payload_too_large", f"The decompressed request body is over the {limit} byte limit.")
    if not decompressor.eof:
        raise IngestError(400, "bad_request", "The gzip body is truncated.")
    return body


def check_uri_length(request: HttpRequest) -> None:
    # The /api's limit: gunicorn answers its own 414 just above it, in HTML; this one is in our body.
    if len(request.get_full_path().encode()) > MAX_URI_LENGTH:
        raise IngestError(414, "uri_too_long", f"The URI is over the {MAX_URI_LENGTH} byte limit.")


def check_content_type(request: HttpRequest) -> None:
    content_type = request.content_type.strip().lower()
    if content_type not in JSON_CONTENT_TYPES:
        raise IngestError(
            415,
            "unsupported_media_type",
            f"Content-Type {content_type[:100]!r} is not supported; send JSON as application/json (or text/plain).",
        )


def _json_loads(body: bytes) -> object:
    try:
        return json.loads(body, parse_constant=_reject_json_constant)
    except RecursionError:
        # Nested deeper than Python's json can recurse, somewhere. Cut what is
        # that deep, so that only the messages holding it are rejected (still
        # too deep by a level), not the batch. Root, batch array and message
        # are the three levels above a message's own.
        text = body.decode(json.detect_encoding(body))
        return json.loads(
            json_deep_values_pruned(text, max_depth=MAX_NESTING_DEPTH + 3), parse_constant=_reject_json_constant
        )


def parse_json_object(body: bytes) -> dict:
    if not body:
        raise IngestError(400, "bad_request", "The request body is empty; send a JSON object.")
    try:
        data = _json_loads(body)
    except (ValueError, RecursionError) as error:
        # UnicodeDecodeError is a ValueError: bytes that are not UTF-8/16/32.
        raise IngestError(400, "invalid_json", f"The body is not valid JSON: {str(error)[:200]}") from None
    if not isinstance(data, dict):
        raise IngestError(400, "invalid_json", "The body must be a JSON object.")
    return data


def write_key_from(request: HttpRequest, data: dict) -> str:
    """HTTP Basic user name (empty password), else `writeKey` in the body."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise IngestError(401, "invalid_write_key", "The Authorization header is not valid Basic auth.") from None
        user, _, _password = decoded.partition(":")
        if user:
            return user
    body_key = data.get("writeKey")
    if isinstance(body_key, str) and body_key:
        return body_key
    raise IngestError(
        401,
        "missing_write_key",
        "No write key: send it as the HTTP Basic user name with an empty password, or as writeKey in the body.",
    )


def authenticate(request: HttpRequest, data: dict) -> Source:
    address = client_address(request)
    retry_after = write_key_retry_after(address)
    if retry_after is not None:
        raise IngestError(
            429,
            "too_many_failures",
            "Too many requests with a missing or unknown write key from this address; retry later.",
            retry_after=retry_after,
        )
    try:
        write_key = write_key_from(request, data)
        source = source_get_by_write_key(write_key)
        if source is None:
            # A hash prefix lets an operator match a stale key to its source
            # (Source.write_key_hash) without the key itself reaching the log.
            logger.warning(
                "ingestion refused an unknown write key",
                extra={"client_address": address, "write_key_sha256_prefix": write_key_hash(write_key)[:12]},
            )
            raise IngestError(401, "invalid_write_key", "The write key is not valid.")
    except IngestError as error:
        if error.status == 401:
            write_key_failure_record(address)
        raise
    if not source.is_active:
        raise IngestError(403, "source_disabled", f"The source {source.name!r} is disabled.")
    return source


def check_rate_limit(source: Source, message_count: int) -> None:
    """Per-source limits, each a fixed window: messages per second (bursts),
    messages per minute (sustained), requests per second.

    Messages, because a 500-event batch costs 500 times what one event costs;
    requests too, because each costs a web process whatever it holds. A
    request is admitted while the source has used less than a limit in the
    current window, and then counts in full: a window may overshoot by one
    batch, but a batch larger than the whole limit can still get through
    rather than being refused forever. Keyed on the authenticated source,
    never on anything the client can choose. If the cache is down we let
    requests through: losing rate limiting for a while beats refusing all data.
    """
    messages = max(message_count, 1)
    limits = (
        ("requests", 1, 1, source.rate_limit_requests_per_second or settings.INGEST_RATE_LIMIT_REQUESTS_PER_SECOND),
        ("messages", 1, messages, source.rate_limit_per_second or settings.INGEST_RATE_LIMIT_PER_SECOND),
        ("messages", 60, messages, source.rate_limit_per_minute or settings.INGEST_RATE_LIMIT_PER_MINUTE),
    )
    now = time.time()
    for unit, window_seconds, cost, limit in limits:
        window = int(now // window_seconds)
        key = f"ingest-rate:{source.pk}:{unit}:{window_seconds}:{window}"
        try:
            # Kept a minute past its window so that it cannot expire between
            # add and incr on a slow request; a few keys per source cost nothing.
            cache.add(key, 0, timeout=window_seconds + 60)
            used_after = cache.incr(key, cost)
        except Exception:
            logger.warning("Rate limiting unavailable (cache error); admitting the request", exc_info=True)
            return
        if used_after - cost >= limit:
            per = "second" if window_seconds == 1 else "minute"
            raise IngestError(
                429,
                "rate_limited",
                f"The source {source.name!r} is over its limit of {limit} {unit} per {per}.",
                retry_after=max(1, math.ceil((window + 1) * window_seconds - now)),
            )


def _ingest(request: HttpRequest, *, message_type: str | None) -> HttpResponse:
    received_at = timezone.now()
    if request.method != "POST":
        response = JsonResponse({"code": "method_not_allowed", "message": "Use POST."}, status=405)
        response["Allow"] = "POST"
        return response
    try:
        check_uri_length(request)
        check_content_type(request)
        data = parse_json_object(read_body(request))
        if message_type is None:
            messages = data.get("batch")
            if not isinstance(messages, list):
                raise IngestError(400, "bad_request", "The body must have a `batch` array of messages.")
            envelope = data
        else:
            # A single message is its own envelope: its sentAt and context apply to itself.
            messages, envelope = [data], {}
        try:
            source = authenticate(request, data)
            check_rate_limit(source, len(messages))
            result = batch_ingest(
                source=source,
                messages=messages,
                envelope=envelope,
                received_at=received_at,
                message_type=message_type,
            )
            # The request's log lines name the batch, as its processing task's lines do.
            structlog.contextvars.bind_contextvars(batch_id=result.batch_id, source_id=source.pk)
        except (OperationalError, InterfaceError, DatabaseError):
            logger.exception("Ingestion could not reach the database; answering 503 so the client retries")
            raise IngestError(
                503,
                "unavailable",
                "Events cannot be stored right now; retry later with the same messageIds.",
                retry_after=DATABASE_RETRY_AFTER_SECONDS,
            ) from None
    except IngestError as error:
        return error.response()

    if message_type is not None and result.rejected:
        rejected = result.rejected[0]
        if rejected.is_too_large:
            return JsonResponse({"code": "payload_too_large", "message": rejected.reason}, status=413)
        return JsonResponse(
            {"code": "invalid_message", "message": rejected.reason, "field": rejected.field}, status=400
        )
    body: dict = {"success": True}
    if result.rejected:
        body["rejected"] = [{"index": r.index, "field": r.field, "reason": r.reason} for r in result.rejected]
    return JsonResponse(body)


@csrf_exempt
def batch(request: HttpRequest) -> HttpResponse:
    """/v1/batch and /v1/import: {"batch": [...], "context": ..., "sentAt": ...}."""
    return _ingest(request, message_type=None)


def _single(message_type: str):
    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        return _ingest(request, message_type=message_type)

    view.__name__ = message_type
    view.__doc__ = f"/v1/{message_type}: one {message_type} message as the body."
    return view


identify = _single("identify")
track = _single("track")
page = _single("page")
screen = _single("screen")
group = _single("group")
alias = _single("alias")
