"""Ingestion service (Segment HTTP Tracking API semantics). IMPLEMENTED BY THE INGESTION WORK."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RejectedItem:
    index: int | None
    field: str
    reason: str


@dataclass(frozen=True)
class IngestResult:
    batch_id: str
    accepted: int  # valid messages in the request (stored now or already stored before)
    stored: int  # newly stored (duplicates by messageId excluded)
    rejected: list[RejectedItem] = field(default_factory=list)


def batch_ingest(*, source, messages: list, envelope: dict, received_at: datetime) -> IngestResult:
    """Validate, normalize and persist a request's messages in one transaction;
    enqueue processing of the batch on commit. Invalid messages are stored as
    RejectedMessage rows, never dropped."""
    raise NotImplementedError
