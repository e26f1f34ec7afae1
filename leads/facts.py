"""The one builder of condition facts: database rows -> the fields of the catalogue.

Every lead, account and score field a condition may name is declared once in
`conditions/catalogue.py`; this module computes them, for a lead (with its account, and its
score when the caller has one) at a moment in time `as_of`. Scoring (fit and attribute
rules), routing (rules, previews) and anything later read the same picture of a lead, so a
field that works in one works in all.

It lives in `leads` because the rows are leads and accounts, and `leads` sits under both
`scoring` and `routing`. The score fields are read from whatever score object the caller
passes (routing passes `lead.score`); nothing here imports the layers above.

Traits (identify and group traits, as sent) are under `traits` (`lead.traits.plan_interest`)
and, for conditions stored before the catalogue, also at the top level (`lead.plan_interest`),
under the declared fields, which win.

    facts = condition_facts(lead, as_of=now, score=lead.score)
    facts["lead"]["email_domain"], facts["account"]["employee_count"], facts["score"]["total"]

Live, the fields come from the current rows. As of a past moment (point-in-time scoring), pass
what was known then (`known=`: a `LeadAsOf` or `AccountAsOf` from leads/selectors_as_of.py): the
fields come from it, and ownership, of which no history is kept, is None (unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, QuerySet

from leads.emails import email_domain, email_type
from leads.models import Account, Lead, segment_for_employees

# Columns of the lead's source and campaign, read as annotations by a batch (one query for
# many leads) instead of two related rows per lead.
_ANNOTATIONS = {
    "facts_source_name": F("source__name"),
    "facts_source_kind": F("source__kind"),
    "facts_campaign_name": F("campaign__name"),
    "facts_campaign_type": F("campaign__type"),
}
# The lead and account columns the builder reads (for `.only()` in batches).
LEAD_COLUMNS = (
    "email",
    "traits",
    "title",
    "department",
    "seniority",
    "country",
    "region",
    "phone",
    "stage",
    "is_unsubscribed",
    "owner",
    "first_seen_at",
    "created_at",
    "account",
)
ACCOUNT_COLUMNS = (
    "traits",
    "name",
    "domain",
    "industry",
    "employee_count",
    "country",
    "region",
    "segment",
    "plan",
    "seats",
    "owner",
    "created_at",  # as of a past moment, the row counts only if it existed then
)
DAY_SECONDS = 86400
# The fields identify and group calls set (leads/identity/traits.py), rebuilt as of a moment.
LEAD_HISTORY_FIELDS = ("title", "department", "seniority", "country", "region", "phone")
ACCOUNT_HISTORY_FIELDS = ("name", "industry", "employee_count", "country", "region", "plan", "seats")


def with_fact_columns(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """The leads with their source's and campaign's columns annotated, as `lead_facts` reads them."""
    return leads.annotate(**_ANNOTATIONS)


def _traits(row: Any) -> dict[str, Any]:
    traits = row.traits
    if not isinstance(traits, dict):
        return {}
    return {key: value for key, value in traits.items() if isinstance(key, str)}


def _source_and_campaign(lead: Lead) -> tuple[str, str, str, str]:
    if hasattr(lead, "facts_source_name"):  # annotated by with_fact_columns()
        return (
            lead.facts_source_name or "",
            lead.facts_source_kind or "",
            lead.facts_campaign_name or "",
            lead.facts_campaign_type or "",
        )
    source = lead.source if lead.source_id else None
    campaign = lead.campaign if lead.campaign_id else None
    return (
        source.name if source else "",
        source.kind if source else "",
        campaign.name if campaign else "",
        campaign.type if campaign else "",
    )


def _days_since(moment: datetime | None, as_of: datetime) -> int | None:
    if moment is None:
        return None
    return max(int((as_of - moment).total_seconds() // DAY_SECONDS), 0)


@dataclass(frozen=True)
class LeadAsOf:
    """What was known of a lead just before a moment (leads/selectors_as_of.py rebuilds it)."""

    email: str | None
    fields: dict[str, str]  # title, department, seniority, country, region, phone
    traits: dict[str, Any]
    stage: str
    is_unsubscribed: bool
    first_seen_at: datetime | None


@dataclass(frozen=True)
class AccountAsOf:
    """What was known of an account just before a moment: the fields group calls set, and their traits."""

    fields: dict[str, Any]  # name, industry, employee_count, country, region, plan, seats
    traits: dict[str, Any]


def _lead_dict(
    lead: Lead, *, as_of: datetime, email: str | None, traits: dict, first_seen_at: datetime | None, values: dict
) -> dict[str, Any]:
    source, source_kind, campaign, campaign_type = _source_and_campaign(lead)
    facts = dict(traits)  # conditions stored before the catalogue read traits at the top
    facts.update(values)
    facts.update(
        email=email or "",
        email_domain=email_domain(email) if email else "",
        email_type=email_type(email),
        source=source,
        source_kind=source_kind,
        campaign=campaign,
        campaign_type=campaign_type,
        days_since_first_seen=_days_since(first_seen_at, as_of),
        traits=traits,
    )
    return facts


def lead_facts(lead: Lead, *, as_of: datetime, known: LeadAsOf | None = None) -> dict[str, Any]:
    """The `lead.*` fields of the catalogue for one lead at `as_of`: from the row, or with `known`
    from what was known then (ownership is not: `has_owner` is None, unknown)."""
    if known is not None:
        values: dict[str, Any] = {name: known.fields.get(name, "") for name in LEAD_HISTORY_FIELDS}
        values.update(stage=known.stage, is_unsubscribed=known.is_unsubscribed, has_owner=None)
        return _lead_dict(
            lead, as_of=as_of, email=known.email, traits=known.traits, first_seen_at=known.first_seen_at, values=values
        )
    values = {
        "title": lead.title,
        "seniority": lead.seniority,
        "department": lead.department,
        "country": lead.country,
        "region": lead.region,
        "phone": lead.phone,
        "stage": lead.stage,
        "is_unsubscribed": lead.is_unsubscribed,
        "has_owner": lead.owner_id is not None,
    }
    first_seen_at = lead.first_seen_at or lead.created_at
    return _lead_dict(
        lead, as_of=as_of, email=lead.email, traits=_traits(lead), first_seen_at=first_seen_at, values=values
    )


def account_facts(account: Account | None, *, as_of: datetime, known: AccountAsOf | None = None) -> dict[str, Any]:
    """The `account.*` fields of the catalogue ({} for a lead without an account): from the row, or
    with `known` from what was known then (the domain is the account's identity, always the row's;
    ownership is not known: `has_owner` is None)."""
    if account is None:
        return {}
    if known is not None:
        traits = known.traits
        values = {name: known.fields.get(name) or "" for name in ACCOUNT_HISTORY_FIELDS}
        for name in ("employee_count", "seats"):  # counts: None when not known
            values[name] = known.fields.get(name)
        values.update(segment=segment_for_employees(values["employee_count"]), has_owner=None)
    else:
        traits = _traits(account)
        values = {
            "name": account.name,
            "industry": account.industry,
            "employee_count": account.employee_count,
            "country": account.country,
            "region": account.region,
            "segment": account.segment,
            "plan": account.plan,
            "seats": account.seats,
            "has_owner": account.owner_id is not None,
        }
    facts = dict(traits)
    facts.update(values, domain=account.domain or "", traits=traits)
    return facts


def score_facts(score: Any) -> dict[str, Any]:
    """The `score.*` fields from a score row (scoring's `Score`), or {} when there is none."""
    if score is None:
        return {}
    return {
        "total": score.total,
        "fit": score.fit,
        "engagement": score.engagement,
        "grade": score.grade,
        "is_hot": score.is_hot,
        "is_mql": score.is_mql,
        "pql_path": score.pql_path,
    }


def condition_facts(lead: Lead, *, as_of: datetime, score: Any = None) -> dict[str, dict[str, Any]]:
    """Everything a lead-level condition can read: {"lead": ..., "account": ..., "score": ...}."""
    return {
        "lead": lead_facts(lead, as_of=as_of),
        "account": account_facts(lead.account if lead.account_id else None, as_of=as_of),
        "score": score_facts(score),
    }
