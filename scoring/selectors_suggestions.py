"""Values and keys a rule editor suggests while marketing ops type: what the data actually holds.

Every query is bounded and walks an index: the newest rows by primary key (events within the
last 90 days among the newest EVENT_SAMPLE, leads and accounts among the newest ROW_SAMPLE),
counted in Python, so the editor stays fast at 100k leads and millions of events.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from leads.models import Account, Event, Lead

EVENT_SAMPLE = 5000
ROW_SAMPLE = 5000
PER_FIELD = 25
KEYS_PER_FAMILY = 40
EVENT_DAYS = 90


@dataclass(frozen=True)
class ConditionSuggestions:
    # Suggested values by field name (`lead.title`, `lead.traits.plan_interest`), most frequent first.
    values: dict[str, list[str]]
    # Keys seen under each open-ended family (`lead.traits.*`: ["plan_interest", ...]), most frequent first.
    keys: dict[str, list[str]]


def _top(values, limit: int = PER_FIELD) -> list[str]:
    counts = Counter(str(value).strip() for value in values if value not in (None, "") and str(value).strip())
    return [value for value, _ in counts.most_common(limit)]


def _family(prefix: str, documents: list, values: dict[str, list[str]]) -> list[str]:
    """The keys seen in JSON objects (traits, properties), and the text or number values of each."""
    documents = [document for document in documents if isinstance(document, dict)]
    keys = _top((key for document in documents for key in document), KEYS_PER_FAMILY)
    for key in keys:
        seen = (document.get(key) for document in documents)
        shown = _top(value for value in seen if isinstance(value, (str, int, float)) and not isinstance(value, bool))
        if shown:
            values[prefix + key] = shown
    return keys


def condition_suggestions(*, now=None) -> ConditionSuggestions:
    """Values by catalogue field, and the keys of traits (leads, accounts) and of event properties
    and context (events of the last 90 days), as the rule editor offers them."""
    since = (now or timezone.now()) - timedelta(days=EVENT_DAYS)
    events = list(
        Event.objects.order_by("-id").values_list("timestamp", "type", "event", "name", "properties", "context")[
            :EVENT_SAMPLE
        ]
    )
    recent = [row for row in events if row[0] >= since]
    leads = list(
        Lead.objects.order_by("-id").values_list("title", "country", "seniority", "department", "traits")[:ROW_SAMPLE]
    )
    accounts = list(
        Account.objects.order_by("-id").values_list("industry", "country", "segment", "plan", "traits")[:ROW_SAMPLE]
    )
    values = {
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
    keys = {
        "lead.traits.*": _family("lead.traits.", [row[4] for row in leads], values),
        "account.traits.*": _family("account.traits.", [row[4] for row in accounts], values),
        "event.properties.*": _family("event.properties.", [row[4] for row in recent], values),
        "event.context.*": _family("event.context.", [row[5] for row in recent], values),
    }
    return ConditionSuggestions(values=values, keys=keys)


def condition_value_suggestions(*, now=None) -> dict[str, list[str]]:
    """Suggested values by field name, most frequent first."""
    return condition_suggestions(now=now).values
