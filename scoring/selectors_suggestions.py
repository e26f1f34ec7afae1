"""Values a rule editor suggests while marketing ops type: what the data actually holds.

Every query is bounded and walks an index: the newest rows by primary key (events within the
last 90 days among the newest EVENT_SAMPLE, leads and accounts among the newest ROW_SAMPLE),
counted in Python, so the editor stays fast at 100k leads and millions of events.
"""

from collections import Counter
from datetime import timedelta

from django.utils import timezone

from leads.models import Account, Event, Lead

EVENT_SAMPLE = 5000
ROW_SAMPLE = 5000
PER_FIELD = 25
EVENT_DAYS = 90
# Event properties worth suggesting: what page and download rules are written on.
EVENT_PROPERTIES = ("path", "asset_type")


def _top(values, limit: int = PER_FIELD) -> list[str]:
    counts = Counter(str(value).strip() for value in values if value not in (None, "") and str(value).strip())
    return [value for value, _ in counts.most_common(limit)]


def condition_value_suggestions(*, now=None) -> dict[str, list[str]]:
    """Suggested values by catalogue field name, most frequent first."""
    since = (now or timezone.now()) - timedelta(days=EVENT_DAYS)
    events = list(
        Event.objects.order_by("-id").values_list("timestamp", "type", "event", "name", "properties")[:EVENT_SAMPLE]
    )
    recent = [row for row in events if row[0] >= since]
    leads = list(Lead.objects.order_by("-id").values_list("title", "country", "seniority", "department")[:ROW_SAMPLE])
    accounts = list(Account.objects.order_by("-id").values_list("industry", "country", "segment", "plan")[:ROW_SAMPLE])
    suggestions = {
        "event.name": _top(row[2] or row[3] for row in recent),
        "event.type": _top(row[1] for row in recent),
        "lead.title": _top(row[0] for row in leads),
        "lead.country": _top(row[1] for row in leads),
        "lead.seniority": _top(row[2] for row in leads),
        "lead.department": _top(row[3] for row in leads),
        "account.industry": _top(row[0] for row in accounts),
        "account.country": _top(row[1] for row in accounts),
        "account.segment": _top(row[2] for row in accounts),
        "account.plan": _top(row[3] for row in accounts),
    }
    for key in EVENT_PROPERTIES:
        suggestions[f"event.properties.{key}"] = _top(
            row[4].get(key) for row in recent if isinstance(row[4], dict) and isinstance(row[4].get(key), str)
        )
    return suggestions
