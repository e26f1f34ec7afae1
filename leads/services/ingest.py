"""Ingestion service (Segment HTTP Tracking API semantics): persist first, then acknowledge.

A request's valid messages are written in one transaction with one
conflict-ignoring bulk insert; invalid ones become RejectedMessage rows in the
same transaction. Processing is enqueued once per request, after commit. If
the broker is unreachable the request still succeeds: the events are
committed, unprocessed, and the beat sweeper re-enqueues them.
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from leads.ingest.messages import MAX_NESTING_DEPTH, Message, Rejection, json_value_pruned, validate_message
from leads.models import Event, RejectedMessage, Source
from qualify_site.enqueue import enqueue_now

# A request must not wait forever behind a lock: past this, the write fails,
# the view answers 503 and the client retries later.
DEFAULT_STATEMENT_TIMEOUT_MS = 10_000

# The pipeline's first step (pipeline/tasks.py), named, not imported: leads sits below it.
EVENTS_PROCESS_TASK = "pipeline.tasks.events_process_task"


@dataclass(frozen=True)
class RejectedItem:
    index: int | None
    field: str
    reason: str
    is_too_large: bool = False


@dataclass(frozen=True)
class IngestResult:
    batch_id: str
    accepted: int  # valid messages in the request (stored now or already stored before)
    stored: int  # newly stored (duplicates by messageId excluded)
    rejected: list[RejectedItem] = field(default_factory=list)


def batch_ingest(
    *,
    source: Source,
    messages: list,
    envelope: dict,
    received_at: datetime,
    message_type: str | None = None,
) -> IngestResult:
    """Validate, normalize and persist a request's messages in one transaction;
    enqueue processing of the batch on commit. Invalid messages are stored as
    RejectedMessage rows, never dropped.

    `envelope` is the batch body (its context, integrations and sentAt apply to
    every message); `message_type` is set by single-message endpoints
    (/v1/track) and overrides the message's own `type`.

    Database errors propagate (the caller answers 503 so the client retries);
    broker errors do not (see `batch_processing_enqueue`).
    """
    batch_id = uuid.uuid4()
    max_bytes = settings.INGEST_MAX_MESSAGE_BYTES
    valid: list[Message] = []
    rejected: list[RejectedItem] = []
    rejected_payloads: list[object] = []
    for index, raw in enumerate(messages):
        result = validate_message(
            raw, envelope=envelope, received_at=received_at, max_bytes=max_bytes, message_type=message_type
        )
        if isinstance(result, Rejection):
            rejected.append(
                RejectedItem(index=index, field=result.field, reason=result.reason, is_too_large=result.is_too_large)
            )
            rejected_payloads.append(raw)
        else:
            valid.append(result)

    with transaction.atomic():
        stored = _events_insert(source=source, batch_id=batch_id, messages=valid) if valid else 0
        if rejected:
            RejectedMessage.objects.bulk_create(
                RejectedMessage(
                    source=source,
                    batch_id=batch_id,
                    index=item.index,
                    field=item.field[:100],
                    reason=item.reason[:500],
                    payload=_storable_payload(payload),
                    received_at=received_at,
                )
                for item, payload in zip(rejected, rejected_payloads, strict=True)
            )
        # Only new events need processing: duplicates were handled with the
        # batch that first stored them.
        if stored:
            transaction.on_commit(lambda: batch_processing_enqueue(str(batch_id)))
    return IngestResult(batch_id=str(batch_id), accepted=len(valid), stored=stored, rejected=rejected)


def batch_processing_enqueue(batch_id: str) -> bool:
    """Publish the batch's processing task, swallowing broker failures; False when it could not.

    The events are already committed with processed_at NULL, so a lost publish
    (Redis down, network blip) only delays them until the sweeper runs; failing
    the request instead would make the client resend what we already hold.
    """
    return enqueue_now(EVENTS_PROCESS_TASK, batch_id, recovered_by="the unprocessed-events sweeper")


def _storable_payload(payload: object) -> object:
    """The rejected message as it can be stored: without its write key (a
    credential, which analytics.js sends in every message), and within what
    jsonb holds: it refuses NUL characters, NaN and lone surrogates, which are
    among the reasons messages get rejected, and what is nested too deep is cut
    (Python's json and the admin recurse)."""
    payload = _without_write_keys(json_value_pruned(payload, max_depth=MAX_NESTING_DEPTH + 1))
    try:
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return {"unstorable": repr(payload)[:2000].replace("\x00", "\\x00")}
    if "\\u0000" in text:
        return {"unstorable": text[:2000].replace("\\u0000", "\\\\u0000")}
    return payload


def _is_write_key_name(key: object) -> bool:
    return isinstance(key, str) and key.replace("_", "").lower() == "writekey"


def _without_write_keys(payload: object) -> object:
    """A copy of the payload with every `writeKey` removed, at any depth.

    Iterative rather than recursive: a rejected message may be nested as deep
    as the JSON parser allowed, which is deeper than Python's recursion limit
    leaves room for here.
    """
    if not isinstance(payload, dict | list):
        return payload
    root: dict | list = {} if isinstance(payload, dict) else []
    pending = [(payload, root)]
    while pending:
        original, copy = pending.pop()
        items = original.items() if isinstance(original, dict) else enumerate(original)
        for key, value in items:
            if isinstance(original, dict) and _is_write_key_name(key):
                continue
            if isinstance(value, dict | list):
                child: object = {} if isinstance(value, dict) else []
                pending.append((value, child))
            else:
                child = value
            if isinstance(copy, dict):
                copy[key] = child
            else:
                copy.append(child)
    return root


_EVENT_COLUMNS = (
    "source_id",
    "message_id",
    "batch_id",
    "type",
    "event",
    "name",
    "user_id",
    "anonymous_id",
    "group_id",
    "previous_id",
    "properties",
    "traits",
    "context",
    "extra",
    "original_timestamp",
    "sent_at",
    "received_at",
    "timestamp",
)
_RECORD_TYPES = {
    "source_id": "bigint",
    "batch_id": "uuid",
    "properties": "jsonb",
    "traits": "jsonb",
    "context": "jsonb",
    "extra": "jsonb",
    "original_timestamp": "timestamptz",
    "sent_at": "timestamptz",
    "received_at": "timestamptz",
    "timestamp": "timestamptz",
}


def _events_insert(*, source: Source, batch_id: uuid.UUID, messages: list[Message]) -> int:
    """Insert the events, skipping any (source, messageId) already stored; return how many were new."""
    if connection.vendor == "postgresql":
        return _events_insert_postgresql(source=source, batch_id=batch_id, messages=messages)
    # The embedded SQLite default: the portable path. A duplicate keeps the
    # batch id of the request that first stored it, so counting this batch's
    # rows counts the new ones.
    Event.objects.bulk_create(
        (
            Event(
                source=source,
                batch_id=batch_id,
                message_id=m.message_id,
                type=m.type,
                event=m.event,
                name=m.name,
                user_id=m.user_id,
                anonymous_id=m.anonymous_id,
                group_id=m.group_id,
                previous_id=m.previous_id,
                properties=m.properties,
                traits=m.traits,
                context=m.context,
                extra=m.extra,
                original_timestamp=m.original_timestamp,
                sent_at=m.sent_at,
                received_at=m.received_at,
                timestamp=m.timestamp,
            )
            for m in messages
        ),
        ignore_conflicts=True,
        batch_size=500,
    )
    return Event.objects.filter(batch_id=batch_id).count()


def _events_insert_postgresql(*, source: Source, batch_id: uuid.UUID, messages: list[Message]) -> int:
    """One INSERT ... SELECT FROM jsonb_to_recordset(...) ON CONFLICT DO NOTHING.

    The whole batch travels as a single JSON parameter: one C-speed json.dumps
    on our side, one parse in PostgreSQL, and no per-row Python model objects.
    Measured on the 2-core dev box with 500-event batches (7 indexes on the
    table, machine shared with other load): about 7,100 rows/s against 1,600
    for bulk_create(ignore_conflicts=True), which builds a model instance and
    SQL placeholders per row.
    """
    table = Event._meta.db_table
    columns = ", ".join(f'"{name}"' for name in _EVENT_COLUMNS)
    record = ", ".join(f'"{name}" {_RECORD_TYPES.get(name, "text")}' for name in _EVENT_COLUMNS)
    source_id, batch = source.pk, str(batch_id)
    # Every message of a request shares receivedAt and usually the envelope's
    # sentAt: format each once, not once per row.
    iso_cache: dict[datetime, str] = {}

    def iso(moment: datetime | None) -> str | None:
        if moment is None:
            return None
        text = iso_cache.get(moment)
        if text is None:
            text = iso_cache[moment] = moment.isoformat()
        return text

    rows = [
        {
            "source_id": source_id,
            "message_id": m.message_id,
            "batch_id": batch,
            "type": m.type,
            "event": m.event,
            "name": m.name,
            "user_id": m.user_id,
            "anonymous_id": m.anonymous_id,
            "group_id": m.group_id,
            "previous_id": m.previous_id,
            "properties": m.properties,
            "traits": m.traits,
            "context": m.context,
            "extra": m.extra,
            "original_timestamp": m.original_timestamp.isoformat() if m.original_timestamp else None,
            "sent_at": iso(m.sent_at),
            "received_at": iso(m.received_at),
            "timestamp": m.timestamp.isoformat(),
        }
        for m in messages
    ]
    payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    timeout_ms = int(getattr(settings, "INGEST_STATEMENT_TIMEOUT_MS", DEFAULT_STATEMENT_TIMEOUT_MS))
    with connection.cursor() as cursor:
        # SET LOCAL: the timeout ends with this transaction.
        cursor.execute(f"SET LOCAL statement_timeout = {timeout_ms}")
        # Rows go in (source, messageId) order, the unique index's: two requests
        # carrying the same messageIds in different orders would otherwise each
        # wait for the other's uncommitted row, a deadlock (the client got a 503).
        # In one canonical order the second simply waits for the first. Ids are
        # still drawn in the order sent, before that sort: processing orders a
        # batch by (timestamp, id), and messages sent with the same timestamp
        # (an identify and its group call) must keep their order.
        cursor.execute(
            "WITH numbered AS MATERIALIZED ("  # noqa: S608 - identifiers from model metadata, values are parameters
            f"SELECT nextval((SELECT pg_get_serial_sequence('{table}', 'id'))::regclass) AS id, r.* "
            f"FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({record})) WITH ORDINALITY "
            f"AS r({columns}, position) ORDER BY position) "
            f'INSERT INTO {table} ("id", {columns}) SELECT "id", {columns} FROM numbered ORDER BY "message_id" '
            "ON CONFLICT (source_id, message_id) DO NOTHING",
            [payload],
        )
        return cursor.rowcount
