"""Test helpers that drive the real pipeline: ingestion -> identity resolution -> scoring."""

import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from leads.models import Lead
from leads.services.identity import events_process_batch
from leads.services.ingest import batch_ingest
from scoring.services import leads_rescore_for_batch


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def days_ago(days: float, *, now: datetime | None = None) -> str:
    return iso((now or timezone.now()) - timedelta(days=days))


def send(source, messages: list[dict]):
    """Ingest messages as one request, process the batch and rescore what it touched."""
    for message in messages:
        message.setdefault("messageId", uuid.uuid4().hex)
    result = batch_ingest(source=source, messages=messages, envelope={}, received_at=timezone.now())
    events_process_batch(batch_id=result.batch_id)
    return leads_rescore_for_batch(batch_id=result.batch_id)


def person(user_id: str, email: str, *, title: str = "", group_id: str | None = None, **traits) -> list[dict]:
    """identify (and group) messages for one person."""
    messages = [
        {"type": "identify", "userId": user_id, "traits": {"email": email, "title": title, **traits}},
    ]
    if group_id:
        messages.append({"type": "group", "userId": user_id, "groupId": group_id, "traits": {}})
    return messages


def company(user_id: str, group_id: str, **traits) -> dict:
    return {"type": "group", "userId": user_id, "groupId": group_id, "traits": traits}


def track(user_id: str, event: str, *, at: str | None = None, group_id: str | None = None, **properties) -> dict:
    message = {"type": "track", "userId": user_id, "event": event, "properties": properties}
    if at:
        message["timestamp"] = at
    if group_id:
        message["context"] = {"groupId": group_id}
    return message


def page(user_id: str, path: str, *, at: str | None = None) -> dict:
    message = {"type": "page", "userId": user_id, "properties": {"path": path}}
    if at:
        message["timestamp"] = at
    return message


def lead_by_email(email: str) -> Lead:
    return Lead.objects.select_related("score").get(email=email)
