"""Outgoing notifications: email through Django's backend, and a generic webhook.

The webhook body is JSON with a Slack-compatible `text` field (so a Slack
incoming-webhook URL works as it is) plus structured fields, signed with
HMAC-SHA256 over the exact body bytes: `X-Qualify-Signature: sha256=<hex>` and
`X-Qualify-Timestamp` (part of the signed message, so a captured request cannot
be replayed later with a new timestamp).
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail

logger = logging.getLogger(__name__)


class WebhookError(Exception):
    """The receiver could not be reached or answered with an error worth retrying."""


@dataclass(frozen=True)
class Notice:
    kind: str  # assigned, at_risk, breached, escalated, reassigned
    subject: str
    text: str
    recipients: tuple[str, ...]
    data: dict


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def email_send(notice: Notice) -> int:
    recipients = [address for address in notice.recipients if address]
    if not recipients:
        return 0
    return send_mail(notice.subject, notice.text, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)


def webhook_send(notice: Notice, *, url: str | None = None, secret: str | None = None) -> bool:
    """POST the notice; False when no webhook is configured. Raises WebhookError to retry."""
    url = url if url is not None else settings.SLA_WEBHOOK_URL
    secret = secret if secret is not None else settings.SLA_WEBHOOK_SECRET
    if not url:
        return False
    body = json.dumps({"text": notice.text, "kind": notice.kind, **notice.data}, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Qualify-Timestamp": timestamp, "User-Agent": "Qualify"}
    if secret:
        headers["X-Qualify-Signature"] = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - admin-set URL
    try:
        with urllib.request.urlopen(request, timeout=settings.SLA_WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        # 4xx other than 429 will not get better by retrying: log and drop.
        if error.code == 429 or error.code >= 500:
            raise WebhookError(f"webhook answered {error.code}") from error
        logger.error("webhook refused a %s notice with %s", notice.kind, error.code)
        return False
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise WebhookError(f"webhook unreachable: {error}") from error
    return 200 <= status < 300
