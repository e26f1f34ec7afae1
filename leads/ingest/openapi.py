"""The Segment HTTP Tracking API (/v1/) as OpenAPI 3.0: paths, components and security scheme.

The ingestion views are plain Django functions (they are the hot path), so
drf-spectacular cannot see them; qualify_site.api.schema adds what this module
builds to the one schema at /api/schema/. Everything here is derived from the
rules the code enforces: the message shapes from leads.ingest.messages, the
statuses and bodies from leads.ingest.views, the limits from settings and
constants, read when the schema is generated (tests/leads/test_ingest_openapi.py
keeps the two in step). What JSON Schema cannot state (a rule across two
fields, a NUL character inside a free-form object) is said in the descriptions.
"""

from django.conf import settings

from leads.ingest.messages import (
    EARLIEST_TIME,
    LATEST_TIME,
    MAX_ID_LENGTH,
    MAX_NESTING_DEPTH,
    MAX_UTC_OFFSET,
    MESSAGE_TYPES,
)
from leads.ingest.views import DATABASE_RETRY_AFTER_SECONDS, JSON_CONTENT_TYPES
from qualify_site.api.middleware import MAX_URI_LENGTH

TAG = "ingestion"
SECURITY_SCHEME = "writeKey"

# The path of each operation, and the message type it implies (None: a batch of any types).
OPERATIONS: dict[str, str | None] = {
    "/v1/identify": "identify",
    "/v1/track": "track",
    "/v1/page": "page",
    "/v1/screen": "screen",
    "/v1/group": "group",
    "/v1/alias": "alias",
    "/v1/batch": None,
    "/v1/import": None,
}

# Every `code` an ingestion error body can carry, by status (leads.ingest.views).
ERROR_CODES: dict[int, tuple[str, ...]] = {
    400: ("bad_request", "invalid_json", "unsupported_encoding", "invalid_message"),
    401: ("missing_write_key", "invalid_write_key"),
    403: ("source_disabled",),
    413: ("payload_too_large",),
    414: ("uri_too_long",),
    415: ("unsupported_media_type",),
    429: ("rate_limited", "too_many_failures"),
    503: ("unavailable",),
}

_SUMMARIES = {
    "identify": "Who a user is: their traits",
    "track": "Something a user did",
    "page": "A page a user viewed (web)",
    "screen": "A screen a user viewed (mobile)",
    "group": "The account (company) a user belongs to",
    "alias": "Two ids of the same user",
}

# What each type requires beyond userId or anonymousId (leads.ingest.messages.validate_message).
_REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "identify": (),
    "track": ("event",),
    "page": (),
    "screen": (),
    "group": ("groupId",),
    "alias": ("previousId", "userId"),
}

_NO_NUL = "^[^\\u0000]*$"


def limits() -> dict:
    """The limits the code enforces now, as stated on every /v1 operation (`x-limits`)."""
    offset_hours, offset_seconds = divmod(int(MAX_UTC_OFFSET.total_seconds()) - 60, 3600)
    return {
        "maxMessageBytes": settings.INGEST_MAX_MESSAGE_BYTES,
        "maxRequestBytes": settings.INGEST_MAX_BATCH_BYTES,
        "maxNestingDepth": MAX_NESTING_DEPTH,
        "maxIdLength": MAX_ID_LENGTH,
        "maxUriLength": MAX_URI_LENGTH,
        "earliestTime": EARLIEST_TIME.isoformat(),
        "latestTime": LATEST_TIME.isoformat(),
        "maxUtcOffset": f"{offset_hours:02d}:{offset_seconds // 60:02d}",
        "rateLimits": {
            "messagesPerSecond": settings.INGEST_RATE_LIMIT_PER_SECOND,
            "messagesPerMinute": settings.INGEST_RATE_LIMIT_PER_MINUTE,
            "requestsPerSecond": settings.INGEST_RATE_LIMIT_REQUESTS_PER_SECOND,
        },
        "writeKeyFailures": {
            "limit": settings.INGEST_AUTH_FAILURE_LIMIT,
            "windowSeconds": settings.INGEST_AUTH_FAILURE_WINDOW_SECONDS,
        },
    }


def ingest_openapi() -> dict:
    """{"paths", "components", "tags"} of the /v1 API, to merge into the generated schema."""
    paths = {path: {"post": _operation(path, message_type)} for path, message_type in OPERATIONS.items()}
    schemas = {
        **{_message_component(kind): _message_schema(kind, in_batch=False) for kind in sorted(MESSAGE_TYPES)},
        **{f"Batch{_message_component(kind)}": _message_schema(kind, in_batch=True) for kind in sorted(MESSAGE_TYPES)},
        "IngestionBatch": _batch_schema(),
        "IngestionSuccess": _success_schema(with_rejected=False),
        "IngestionBatchSuccess": _success_schema(with_rejected=True),
        "IngestionRejection": _rejection_schema(),
        "IngestionError": _error_schema(),
    }
    security = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "basic",
            "description": (
                "The source's write key (admin: *Sources*) as the HTTP Basic user name, with an empty password. "
                "A client that cannot set the header may send it as `writeKey` in the body instead. "
                f"More than {settings.INGEST_AUTH_FAILURE_LIMIT} missing or unknown keys from one address within "
                f"{settings.INGEST_AUTH_FAILURE_WINDOW_SECONDS} seconds: that address gets 429 until the window ends."
            ),
        }
    }
    tag = {
        "name": TAG,
        "description": (
            "The Segment HTTP Tracking API, wire compatible: Segment's and RudderStack's libraries send here "
            "unmodified. Every accepted event is committed before the answer; duplicates (the same `messageId` "
            "from the same source) are stored once, so a client retries with the same messageIds."
        ),
    }
    return {"paths": paths, "components": {"schemas": schemas, "securitySchemes": security}, "tags": [tag]}


def _message_component(kind: str) -> str:
    return f"{kind.capitalize()}Message"


def _ref(component: str) -> dict:
    return {"$ref": f"#/components/schemas/{component}"}


def _id_schema(description: str, *, required: bool = False) -> dict:
    # Text columns of the Event table; integers are stored as text (Segment's libraries stringify them).
    text = {"type": "string", "maxLength": MAX_ID_LENGTH, "pattern": _NO_NUL}
    if required:
        text["minLength"] = 1
    schema = {
        "description": f"{description} A string of at most {MAX_ID_LENGTH} characters, or an integer.",
        "oneOf": [text, {"type": "integer"}],
    }
    if not required:
        schema["nullable"] = True
    return schema


def _time_schema(description: str) -> dict:
    limits_now = limits()
    return {
        "type": "string",
        "format": "date-time",
        # The UTC offset PostgreSQL takes (under 16 hours), and the first and last day of the
        # calendar left out: the range below is checked once the time is in UTC.
        "pattern": "^(?!0001-01-01|9999-12-31).*(?:[Zz]|[+-](?:0\\d|1[0-5]):[0-5]\\d)$",
        "nullable": True,
        "description": (
            f"{description} ISO 8601; without an offset it is read as UTC. Once in UTC it must lie between "
            f"{limits_now['earliestTime']} and {limits_now['latestTime']}, with an offset of at most "
            f"±{limits_now['maxUtcOffset']}; a time outside is rejected, never clamped."
        ),
    }


def _object_schema(description: str) -> dict:
    return {
        "type": "object",
        "additionalProperties": True,
        "nullable": True,
        "description": f"{description} Any JSON object (null is an empty one); no NUL character in any key or string.",
    }


def _message_properties(kind: str, *, in_batch: bool) -> dict:
    required = _REQUIRED_BY_TYPE[kind]
    if in_batch:
        kind_schema = {"type": "string", "enum": [kind], "description": "The message type."}
    else:
        kind_schema = {"description": f"Ignored: /v1/{kind} stores a {kind} message whatever `type` says."}
    return {
        "type": kind_schema,
        "messageId": _id_schema(
            "Stored once per source: a message sent again with the same id is a duplicate. Without one, an id "
            "is derived from the content (everything but sentAt and writeKey), so a verbatim retry is one too."
        ),
        "userId": _id_schema("Your id of the user.", required="userId" in required),
        "anonymousId": _id_schema("A device or browser id, before the user is known."),
        "event": _id_schema("The event name (`Signed Up`, `Demo Requested`).", required="event" in required),
        "name": _id_schema("The page or screen name."),
        "groupId": _id_schema("Your id of the account.", required="groupId" in required),
        "previousId": _id_schema("The id the user had before (`alias`).", required="previousId" in required),
        "properties": _object_schema("What the event, page or screen carries."),
        "traits": _object_schema("What is known of the user (identify) or account (group)."),
        "context": _object_schema("Where it happened (`page`, `campaign`, `groupId`, ...)."),
        "integrations": _object_schema("Destinations to send to; kept, not used."),
        "timestamp": _time_schema(
            "When it happened, by the client's clock. With `sentAt`, corrected for the client's clock skew: "
            "receivedAt - (sentAt - timestamp), which must be in range too."
        ),
        "originalTimestamp": _time_schema("The client's time, when replaying an export; wins over `timestamp`."),
        "sentAt": _time_schema("When the client sent it, by its clock (for the clock-skew correction)."),
        "writeKey": {
            "description": "The write key, when it is not sent as the HTTP Basic user name. Never stored.",
        },
    }


def _message_schema(kind: str, *, in_batch: bool) -> dict:
    required = _REQUIRED_BY_TYPE[kind]
    schema = {
        "type": "object",
        "title": f"{kind} message",
        "description": (
            f"{_SUMMARIES[kind]}. Needs `userId` or `anonymousId`"
            + (f", and {' and '.join(f'`{name}`' for name in required)}" if required else "")
            + f". At most {settings.INGEST_MAX_MESSAGE_BYTES} bytes as JSON and {MAX_NESTING_DEPTH} levels of "
            "objects and arrays (the message being the first); other fields are kept with the event."
        ),
        "properties": _message_properties(kind, in_batch=in_batch),
        "additionalProperties": True,
    }
    if in_batch:
        schema["required"] = ["type", *required]
    elif required:
        schema["required"] = list(required)
    if "userId" not in required:
        present = _id_schema("", required=True)
        schema["anyOf"] = [
            {"required": ["userId"], "properties": {"userId": present}},
            {"required": ["anonymousId"], "properties": {"anonymousId": present}},
        ]
    return schema


def _batch_schema() -> dict:
    messages = [_ref(f"Batch{_message_component(kind)}") for kind in sorted(MESSAGE_TYPES)]
    return {
        "type": "object",
        "required": ["batch"],
        "properties": {
            "batch": {
                "type": "array",
                "description": (
                    "The messages, each with its `type`. A message that is not valid (any shape below not "
                    "met, or over the size or nesting limit) is set aside with its reason and listed in the "
                    "answer's `rejected`; the valid ones are stored."
                ),
                "items": {"oneOf": messages, "discriminator": {"propertyName": "type"}},
            },
            "context": _object_schema("Defaults for every message's `context`, merged key by key."),
            "integrations": _object_schema("Defaults for every message's `integrations`, merged key by key."),
            "sentAt": _time_schema("When the client sent the batch: applies to messages without their own."),
            "writeKey": {
                "description": "The write key, when it is not sent as the HTTP Basic user name. Never stored.",
            },
        },
        "additionalProperties": True,
    }


def _success_schema(*, with_rejected: bool) -> dict:
    properties: dict = {"success": {"type": "boolean", "enum": [True]}}
    if with_rejected:
        properties["rejected"] = {
            "type": "array",
            "items": _ref("IngestionRejection"),
            "description": "The messages set aside, when any were; the others are stored.",
        }
    return {"type": "object", "required": ["success"], "properties": properties}


def _rejection_schema() -> dict:
    return {
        "type": "object",
        "required": ["index", "field", "reason"],
        "properties": {
            "index": {"type": "integer", "minimum": 0, "description": "Position in `batch`."},
            "field": {"type": "string", "description": "The field in error; empty for the message as a whole."},
            "reason": {"type": "string", "description": "Why, in plain words."},
        },
    }


def _error_schema() -> dict:
    return {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {
                "type": "string",
                "enum": sorted({code for codes in ERROR_CODES.values() for code in codes}),
                "description": "Stable and machine readable.",
            },
            "message": {"type": "string", "description": "What went wrong, in plain words."},
            "field": {
                "type": "string",
                "description": "With code `invalid_message`: the field in error (empty for the message as a whole).",
            },
        },
    }


def _retry_after(description: str) -> dict:
    return {"Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": description}}


def _json_response(description: str, component: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(component)}}}


def _error_response(status: int, description: str, *, headers: dict | None = None) -> dict:
    codes = ", ".join(f"`{code}`" for code in ERROR_CODES[status])
    response = _json_response(f"{description} (code {codes})", "IngestionError")
    if headers:
        response["headers"] = headers
    return response


def _responses(message_type: str | None) -> dict:
    limits_now = limits()
    rates = limits_now["rateLimits"]
    failures = limits_now["writeKeyFailures"]
    if message_type is None:
        success = _json_response(
            "Stored, except the messages listed in `rejected` (kept aside with their reason).", "IngestionBatchSuccess"
        )
        bad_input = (
            "The body is empty, not JSON, not gzip as announced, or has no `batch` array; or Content-Length "
            "is not a number. Nothing was stored"
        )
        too_large = f"The body is over {limits_now['maxRequestBytes']} bytes (after gzip decompression)"
    else:
        success = _json_response("Stored (or already stored: the same messageId from this source).", "IngestionSuccess")
        bad_input = (
            "The message is not valid: `field` names the field in error (code `invalid_message`; the message is "
            "kept aside, admin: *Rejected messages*); or the body is empty, not JSON, or not gzip as announced"
        )
        too_large = (
            f"The message is over {limits_now['maxMessageBytes']} bytes, or the body over "
            f"{limits_now['maxRequestBytes']} bytes (after gzip decompression)"
        )
    return {
        "200": success,
        "400": _error_response(400, bad_input),
        "401": _error_response(401, "No write key, or one that is not valid"),
        "403": _error_response(403, "The write key's source is disabled"),
        "413": _error_response(413, too_large),
        "414": _error_response(414, f"The URI (path and query) is over {limits_now['maxUriLength']} bytes"),
        "415": _error_response(
            415, f"The Content-Type is not one of {', '.join(sorted(t for t in JSON_CONTENT_TYPES if t))} (or none)"
        ),
        "429": _error_response(
            429,
            f"Over a rate limit of the source: {rates['messagesPerSecond']} messages a second, "
            f"{rates['messagesPerMinute']} a minute, {rates['requestsPerSecond']} requests a second (a source "
            f"may have its own); or {failures['limit']} missing or unknown write keys from this address within "
            f"{failures['windowSeconds']} seconds",
            headers=_retry_after("Seconds until the window ends."),
        ),
        "503": _error_response(
            503,
            "The database cannot store the events now; nothing was stored, retry with the same messageIds",
            headers=_retry_after(f"Seconds to wait: {DATABASE_RETRY_AFTER_SECONDS}."),
        ),
    }


def _operation(path: str, message_type: str | None) -> dict:
    name = path.removeprefix("/v1/")
    if message_type is None:
        body = _ref("IngestionBatch")
        summary = "Many messages of any types" if name == "batch" else "Historical messages (as /v1/batch)"
        description = (
            "A batch: `batch` holds the messages; the batch's `context`, `integrations` and `sentAt` apply to "
            "each (a message's own value wins). Invalid messages never take the valid ones down: they are "
            "listed in `rejected`. Rate limits count each message."
        )
    else:
        body = _ref(_message_component(message_type))
        summary = _SUMMARIES[message_type]
        description = f"One {message_type} message as the body."
    description += (
        " The body is JSON sent as `application/json` or `text/plain` (analytics.js), optionally with "
        "`Content-Encoding: gzip`."
    )
    return {
        "operationId": f"v1_{name}",
        "summary": summary,
        "description": description,
        "tags": [TAG],
        "security": [{SECURITY_SCHEME: []}],
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": body} for media_type in ("application/json", "text/plain")},
        },
        "responses": _responses(message_type),
        "x-limits": limits(),
    }


def ingestion_api_added(result: dict, generator, request, public: bool) -> dict:
    """SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]: the /v1 ingestion API (plain Django views,
    which drf-spectacular does not see) in the same schema: ingest_openapi() above."""
    ingestion = ingest_openapi()
    result["paths"].update(ingestion["paths"])
    components = result.setdefault("components", {})
    for section, entries in ingestion["components"].items():
        components.setdefault(section, {}).update(entries)
    result.setdefault("tags", []).extend(ingestion["tags"])
    return result
