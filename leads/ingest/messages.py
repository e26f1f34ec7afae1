"""Validate and normalize one Segment message. Pure Python: no Django, no database.

Follows the Segment HTTP Tracking API spec (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/):

- A batch envelope's `context`, `integrations` and `sentAt` apply to each
  message; a message's own value wins. `context` and `integrations` are merged
  key by key (the envelope gives defaults), `sentAt` is replaced as a whole.
- The client's `timestamp` is kept as `originalTimestamp`. When `sentAt` is
  known, client clock skew is corrected the way Segment does it:
  `timestamp = receivedAt - (sentAt - originalTimestamp)`. Without `sentAt`
  the client's timestamp is trusted; without any, `receivedAt` is used.
- Every message needs `userId` or `anonymousId`; `track` needs `event`,
  `group` needs `groupId`, `alias` needs `previousId` and `userId`.
- Times are checked against what PostgreSQL and Python can hold (see
  `parse_timestamp`), before and after the clock-skew correction: an
  impossible time rejects the message, naming the field. It is never clamped:
  a made-up time would misdate the event in every score window.
- A message nested more than `MAX_NESTING_DEPTH` levels deep is rejected on
  its own: the rest of its batch is stored.

`validate_message` never raises on any JSON-decoded input: it returns either a
`Message` ready to store or a `Rejection` naming the field and the reason.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MESSAGE_TYPES = frozenset({"identify", "track", "page", "screen", "group", "alias"})

# An escaped NUL: \u0000 preceded by an even number of backslashes.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")

# Columns of the Event table are 255 characters wide.
MAX_ID_LENGTH = 255

# Levels of objects and arrays in one message, the message itself being the
# first. Segment's own payloads use four or five; past a few hundred, Python's
# json (recursive) fails, and the admin's pretty-printing before it.
MAX_NESTING_DEPTH = 64

# A JSON string (escapes included) or a bracket: what nesting is counted on.
_JSON_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')

# PostgreSQL refuses UTC offsets of 16 hours or more ("time zone displacement out
# of range"); no real time zone is past ±14:00.
MAX_UTC_OFFSET = timedelta(hours=16)
# The years 1 to 9999 in UTC are what both Python's datetime and PostgreSQL's
# timestamptz hold. A day is kept clear at each end so that the time can still
# be shown in any time zone (Python's offsets are under 24 hours) without
# overflowing.
EARLIEST_TIME = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LATEST_TIME = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)

# Top-level fields with a column of their own; everything else lands in `extra`.
_MAPPED_FIELDS = frozenset(
    {
        "type",
        "messageId",
        "event",
        "name",
        "userId",
        "anonymousId",
        "groupId",
        "previousId",
        "properties",
        "traits",
        "context",
        "timestamp",
        "originalTimestamp",
        "sentAt",
        # The write key authenticates the request; it is never stored with the data.
        "writeKey",
    }
)

# Text columns, with the JSON field each comes from.
_TEXT_FIELDS = (
    ("messageId", "message_id"),
    ("event", "event"),
    ("name", "name"),
    ("userId", "user_id"),
    ("anonymousId", "anonymous_id"),
    ("groupId", "group_id"),
    ("previousId", "previous_id"),
)


@dataclass(frozen=True, slots=True)
class Message:
    """One valid message, normalized, with the field names of the Event table."""

    message_id: str
    type: str
    event: str
    name: str
    user_id: str
    anonymous_id: str
    group_id: str
    previous_id: str
    properties: dict
    traits: dict
    context: dict
    extra: dict
    original_timestamp: datetime | None
    sent_at: datetime | None
    received_at: datetime
    timestamp: datetime
    # Generated from the content because the client sent no messageId.
    is_message_id_generated: bool = False


@dataclass(frozen=True, slots=True)
class Rejection:
    field: str
    reason: str
    # Over the per-message size limit: a single-message call answers 413, not 400.
    is_too_large: bool = False


class NestedTooDeepError(ValueError):
    pass


def parse_timestamp(value: object) -> datetime:
    """An aware UTC datetime from an ISO-8601 string; naive values are read as UTC.

    Raises ValueError for anything else (numbers included: Segment's spec
    asks for ISO-8601 strings, and guessing seconds vs milliseconds would
    silently misdate events), and for times the database cannot hold: a UTC
    offset of ±16:00 or more, or a time outside `EARLIEST_TIME`..`LATEST_TIME`
    once in UTC (9999-12-31T23:00-05:00 is in the year 10000). The result is
    in UTC so that what is stored never depends on how PostgreSQL reads an
    offset (it refuses fractions of a second in one, Python accepts them).
    """
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 date string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"is not an ISO-8601 date: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    offset = parsed.utcoffset()
    if offset is not None and abs(offset) >= MAX_UTC_OFFSET:
        raise ValueError(f"has a UTC offset out of range (at most ±15:59): {value[:40]!r}")
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        parsed = None
    check_time_in_range(parsed, shown=value)
    return parsed


def check_time_in_range(moment: datetime | None, *, shown: str) -> None:
    """Raise ValueError unless `moment` (aware) is a time the database can hold and show.

    None stands for a time that already overflowed Python's calendar.
    """
    if moment is None or not EARLIEST_TIME <= moment <= LATEST_TIME:
        raise ValueError(
            f"is out of range: {shown[:40]!r} is not between {EARLIEST_TIME:%Y-%m-%d} and {LATEST_TIME:%Y-%m-%d} UTC"
        )


def generated_message_id(raw: dict, message_type: str) -> str:
    """A messageId derived from the message's content, for clients that send none.

    Clients retry failed batches verbatim, so the same message without a
    messageId must get the same id each time to be stored once. `sentAt` and
    `writeKey` are left out because they change between retries, not the
    message. The price: two messages identical in every field (same ids, same
    event, same properties and the same timestamp, or both without one) count
    as one. Such messages carry no information that would tell them apart, so
    we prefer dropping a true duplicate to storing every retry.
    """
    content = {key: value for key, value in raw.items() if key not in ("sentAt", "writeKey")}
    content["type"] = message_type
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "gen-" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _serialized_size(raw: dict) -> int:
    """Bytes of the message as JSON (UTF-8), the measure Segment's 32 KB limit uses.

    Raises ValueError for what JSON or PostgreSQL cannot hold: NaN/Infinity,
    lone surrogates, and NUL characters (jsonb and text columns refuse them,
    which would fail the whole batch's insert instead of this one message).
    """
    try:
        serialized = json.dumps(raw, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except RecursionError:
        raise NestedTooDeepError from None
    if _is_nested_too_deep(serialized):
        raise NestedTooDeepError
    # json escapes control characters, so a NUL in any key or string shows up as
    # this escape; the regex tells it apart from the text backslash-u0000
    # (serialized with an escaped backslash before it).
    if "\\u0000" in serialized and _NUL_ESCAPE.search(serialized):
        raise ValueError("contains a NUL character, which cannot be stored")
    return len(serialized.encode("utf-8"))


def _is_nested_too_deep(serialized: str) -> bool:
    # A message cannot nest deeper than it has brackets: that count (in C) spares
    # almost every message the scan below.
    if serialized.count("{") + serialized.count("[") <= MAX_NESTING_DEPTH:
        return False
    depth = 0
    for token in _JSON_STRING_OR_BRACKET.finditer(serialized):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def json_deep_values_pruned(text: str, *, max_depth: int) -> str:
    """JSON text with every object or array nested deeper than `max_depth` replaced by `[]`.

    For a body Python's json cannot parse because it recurses too deep: once
    pruned, it parses, and a message that was too deep still is (by one level),
    so it is rejected on its own instead of the whole request. Text that is not
    JSON stays not JSON.
    """
    pieces: list[str] = []
    depth, kept_from = 0, 0  # kept_from is -1 while inside a pruned value
    for token in _JSON_STRING_OR_BRACKET.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth == max_depth + 1:
                pieces.append(text[kept_from : token.start()])
                kept_from = -1
        elif char in "]}":
            if depth == max_depth + 1:
                pieces.append("[]")
                kept_from = token.end()
            depth -= 1
    if kept_from >= 0:
        pieces.append(text[kept_from:])
    return "".join(pieces)


def json_value_pruned(value: object, *, max_depth: int) -> object:
    """A JSON value with what is nested deeper than `max_depth` replaced by a note, to keep a rejected message."""
    if not isinstance(value, dict | list):
        return value
    if max_depth <= 0:
        return "(nested too deep)"
    if isinstance(value, dict):
        return {key: json_value_pruned(item, max_depth=max_depth - 1) for key, item in value.items()}
    return [json_value_pruned(item, max_depth=max_depth - 1) for item in value]


def _unstorable_reason(raw: dict) -> str:
    """Why `raw` cannot be stored (NUL, lone surrogate, NaN, nesting), or "" when it can."""
    try:
        _serialized_size(raw)
    except UnicodeEncodeError:  # a ValueError too, so caught first
        return "contains invalid Unicode (a lone surrogate)"
    except NestedTooDeepError:
        return f"is nested more than {MAX_NESTING_DEPTH} levels deep"
    except ValueError as error:
        return str(error) if "NUL" in str(error) else "is not valid JSON (NaN or Infinity)"
    return ""


def _unstorable_part(raw: dict) -> tuple[str, str]:
    """The first top-level field that cannot be stored and why, so the error can name it."""
    for key, value in raw.items():
        if reason := _unstorable_reason({key: value}):
            return str(key)[:100], f"{str(key)[:100]} {reason}"
    return "", _unstorable_reason(raw)


def _text(raw: dict, key: str) -> str:
    """The field as text: strings as sent, integers stringified (some clients send numeric
    ids, and Segment's own libraries stringify them), missing or null as "".
    Raises ValueError for other types or over-long values."""
    value = raw.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("must be a string")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_ID_LENGTH:
        raise ValueError(f"is longer than {MAX_ID_LENGTH} characters")
    return text


def _object(raw: dict, key: str) -> dict:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value


def validate_message(
    raw: object,
    *,
    envelope: dict,
    received_at: datetime,
    max_bytes: int,
    message_type: str | None = None,
) -> Message | Rejection:
    """Validate one message and normalize it for storage.

    `envelope` is the batch body (its context/integrations/sentAt apply to the
    message) or {} for a single-message call. `message_type` is the type the
    endpoint implies (/v1/track); it overrides the body's `type`, as Segment's
    single-message endpoints do.
    """
    if not isinstance(raw, dict):
        return Rejection("", "message must be a JSON object")
    try:
        size = _serialized_size(raw)
    except ValueError:  # NUL, NaN, lone surrogate (UnicodeEncodeError), nested too deep
        return Rejection(*_unstorable_part(raw))
    if size > max_bytes:
        return Rejection("", f"message is {size} bytes, over the {max_bytes} byte limit", is_too_large=True)

    kind = message_type or raw.get("type")
    if kind is None:
        return Rejection("type", "type is required")
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        shown = kind if isinstance(kind, str) else json.dumps(kind)
        return Rejection("type", f"unknown type {shown[:40]!r}: expected one of {', '.join(sorted(MESSAGE_TYPES))}")

    texts: dict[str, str] = {}
    for json_name, column in _TEXT_FIELDS:
        try:
            texts[column] = _text(raw, json_name)
        except ValueError as error:
            return Rejection(json_name, f"{json_name} {error}")

    if not texts["user_id"] and not texts["anonymous_id"]:
        return Rejection("userId", "userId or anonymousId is required")
    if kind == "track" and not texts["event"]:
        return Rejection("event", "event is required for a track call")
    if kind == "group" and not texts["group_id"]:
        return Rejection("groupId", "groupId is required for a group call")
    if kind == "alias":
        if not texts["previous_id"]:
            return Rejection("previousId", "previousId is required for an alias call")
        if not texts["user_id"]:
            return Rejection("userId", "userId is required for an alias call")

    objects: dict[str, dict] = {}
    for key in ("properties", "traits", "context", "integrations"):
        try:
            objects[key] = _object(raw, key)
        except ValueError as error:
            return Rejection(key, f"{key} {error}")
    for key in ("context", "integrations"):
        from_envelope = envelope.get(key)
        if from_envelope is not None and not isinstance(from_envelope, dict):
            # As a message's own would be: dropping it quietly would lose, say, the account in context.groupId.
            return Rejection(key, f"the batch's {key} must be a JSON object")
        if from_envelope:
            # Stored with the message, so held to what the message is held to.
            if problem := _unstorable_reason({key: from_envelope}):
                return Rejection(key, f"the batch's {key} {problem}")
            objects[key] = {**from_envelope, **objects[key]}

    # An explicit originalTimestamp (messages replayed from a Segment export)
    # is the client's time; otherwise the client's `timestamp` is.
    original_field = "originalTimestamp" if raw.get("originalTimestamp") is not None else "timestamp"
    sent_at_value = raw.get("sentAt") if raw.get("sentAt") is not None else envelope.get("sentAt")
    try:
        original = raw.get(original_field)
        original_timestamp = None if original is None else parse_timestamp(original)
    except ValueError as error:
        return Rejection(original_field, f"{original_field} {error}")
    if original_field == "originalTimestamp" and raw.get("timestamp") is not None:
        # Unused then (the time comes from originalTimestamp), yet a timestamp that is no time
        # is bad input, refused like any other rather than dropped without a word.
        try:
            parse_timestamp(raw["timestamp"])
        except ValueError as error:
            return Rejection("timestamp", f"timestamp {error}")
    try:
        sent_at = None if sent_at_value is None else parse_timestamp(sent_at_value)
    except ValueError as error:
        whose = "sentAt" if raw.get("sentAt") is not None else "the batch's sentAt"
        return Rejection("sentAt", f"{whose} {error}")

    try:
        if original_timestamp is None:
            timestamp = received_at
        elif sent_at is None:
            timestamp = original_timestamp
        else:
            timestamp = received_at - (sent_at - original_timestamp)
            check_time_in_range(timestamp, shown=timestamp.isoformat())
    except (OverflowError, ValueError):
        return Rejection(original_field, f"{original_field} is too far from sentAt to correct for clock skew")

    extra = {key: value for key, value in raw.items() if key not in _MAPPED_FIELDS and key != "integrations"}
    if objects["integrations"]:
        extra["integrations"] = objects["integrations"]

    message_id = texts.pop("message_id")
    is_generated = not message_id
    if is_generated:
        message_id = generated_message_id(raw, kind)

    return Message(
        message_id=message_id,
        type=kind,
        properties=objects["properties"],
        traits=objects["traits"],
        context=objects["context"],
        extra=extra,
        original_timestamp=original_timestamp,
        sent_at=sent_at,
        received_at=received_at,
        timestamp=timestamp,
        is_message_id_generated=is_generated,
        **texts,
    )
