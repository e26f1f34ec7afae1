"""The inputs and the result of identity resolution: frozen dataclasses. Pure Python, no Django.

The service reads events, identities, leads and accounts, builds these, calls
`engine.resolve` and writes the `IdentityPlan` back. Ids are the database's;
a lead or account the batch creates gets a negative id, unique within the
plan, which the service swaps for the real one once it has inserted the row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from leads.identity.traits import AccountTraits, LeadTraits, account_traits_parse, lead_traits_parse

# Identity kinds (leads.models.IdentityKind), and the account keys a batch names.
USER = "user_id"
ANONYMOUS = "anonymous_id"
EMAIL = "email"
GROUP_ID = "group_id"
DOMAIN = "domain"

# Message types (leads.models.EventType) that resolution treats specially.
IDENTIFY = "identify"
TRACK = "track"
GROUP = "group"
ALIAS = "alias"

Key = tuple[str, str]

LEAD_TEXT_FIELDS = ("first_name", "last_name", "title", "department", "seniority", "country", "region", "phone")


@dataclass(frozen=True)
class MessageFacts:
    """One stored event, with what resolution reads of it parsed once (this is the per-event hot path)."""

    id: int
    source_id: int
    type: str
    event: str
    user_id: str
    anonymous_id: str
    previous_id: str
    group_id: str  # the group call's groupId, or the context.groupId of any other event
    lead_traits: LeadTraits | None  # an identify call's traits
    context_lead_traits: LeadTraits | None  # context.traits, on any message that has them
    account_traits: AccountTraits | None  # a group call's traits
    campaign: tuple[str, str] | None  # (name, medium) of context.campaign
    timestamp: datetime
    email: str | None = None

    @property
    def keys(self) -> list[Key]:
        """The ids this message is sent under, strongest first."""
        keys = []
        if self.user_id:
            keys.append((USER, self.user_id))
        if self.anonymous_id:
            keys.append((ANONYMOUS, self.anonymous_id))
        if self.email:
            keys.append((EMAIL, self.email))
        return keys

    @property
    def previous_keys(self) -> list[Key]:
        """An alias call's previousId, which may have been either kind of id."""
        if self.type != ALIAS or not self.previous_id:
            return []
        return [(USER, self.previous_id), (ANONYMOUS, self.previous_id)]


def _json(value: object) -> dict:
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def message_facts(row: Mapping) -> MessageFacts:
    """A MessageFacts from an event row (id, source_id, type, event, user_id,
    anonymous_id, group_id, previous_id, traits, context, timestamp)."""
    context = _json(row["context"])
    traits = _json(row["traits"])
    context_traits = context.get("traits") if isinstance(context.get("traits"), dict) else {}
    group_id = row["group_id"]
    if row["type"] != GROUP:
        raw = context.get("groupId") or context.get("group_id")
        group_id = str(raw)[:255] if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    campaign = None
    raw_campaign = context.get("campaign")
    if isinstance(raw_campaign, dict) and isinstance(raw_campaign.get("name"), str) and raw_campaign["name"].strip():
        campaign = (raw_campaign["name"].strip()[:200], str(raw_campaign.get("medium") or ""))
    lead_traits = lead_traits_parse(traits) if row["type"] == IDENTIFY else None
    context_lead_traits = lead_traits_parse(context_traits) if context_traits else None
    # An email in identify traits, or in context.traits on any message, identifies the person.
    email = lead_traits.email if lead_traits is not None else None
    if email is None and context_lead_traits is not None:
        email = context_lead_traits.email
    return MessageFacts(
        id=row["id"],
        source_id=row["source_id"],
        type=row["type"],
        event=row["event"],
        user_id=row["user_id"],
        anonymous_id=row["anonymous_id"],
        previous_id=row["previous_id"],
        group_id=group_id,
        lead_traits=lead_traits,
        context_lead_traits=context_lead_traits,
        account_traits=account_traits_parse(traits) if row["type"] == GROUP else None,
        campaign=campaign,
        timestamp=row["timestamp"],
        email=email,
    )


@dataclass(frozen=True)
class LeadFacts:
    """A lead's fields that resolution reads or writes. Negative id: created by this batch."""

    id: int
    email: str | None = None
    first_name: str = ""
    last_name: str = ""
    title: str = ""
    department: str = ""
    seniority: str = ""
    country: str = ""
    region: str = ""
    phone: str = ""
    account_id: int | None = None
    source_id: int | None = None
    campaign_id: int | None = None
    is_unsubscribed: bool = False
    traits: Mapping = field(default_factory=dict)
    merged_into_id: int | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class AccountFacts:
    """An account's fields that resolution reads or writes. Negative id: created by this batch."""

    id: int
    name: str = ""
    domain: str | None = None
    group_id: str | None = None
    industry: str = ""
    employee_count: int | None = None
    country: str = ""
    region: str = ""
    plan: str = ""
    seats: int | None = None
    owner_id: int | None = None
    traits: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class KnownIdentities:
    """What the database holds about a batch's ids, read after taking the batch's key locks.

    `leads` holds every lead the identities and emails point at, and the
    leads those were merged into, up to the survivors.
    """

    identities: Mapping[Key, int] = field(default_factory=dict)  # stored identity -> its lead id
    leads: Mapping[int, LeadFacts] = field(default_factory=dict)
    lead_by_email: Mapping[str, int] = field(default_factory=dict)  # Lead.email, identity row or not
    accounts: tuple[AccountFacts, ...] = ()  # the accounts of the batch's groupIds and domains


@dataclass(frozen=True)
class Merge:
    survivor_id: int
    merged_id: int
    reason: str


@dataclass(frozen=True)
class EventResolution:
    id: int
    lead_id: int | None  # None: nobody can be matched (yet)
    account_id: int | None  # the account the event itself names (group call, context.groupId); else the lead's


@dataclass(frozen=True)
class HistorySeen:
    """What attaching a key's earlier unmatched events found: their time span and latest group call's account."""

    first: datetime
    last: datetime
    group_account_id: int | None = None
    group_at: datetime | None = None


@dataclass(frozen=True)
class IdentityPlan:
    """The writes that resolve a batch, in the order the service makes them.

    1. `new_campaigns` (name -> campaign type, insert if missing), then the leads
       in `new_lead_campaigns` take their campaign's id.
    2. `account_folds` ((folded, into): relations move, the folded row goes),
       `new_accounts`, `changed_accounts`.
    3. The new leads of `leads` (negative ids), then `merges`.
    4. `identities` (key -> lead), then the history of `history` keys:
       earlier unmatched events under them join the lead, which widens what
       `leads_to_update(plan, seen)` says to write back.
    5. `events`: each event's lead and account, and processed.
    """

    leads: tuple[LeadFacts, ...] = ()  # every lead the batch touched (merged ones too), as it should be
    stored_leads: Mapping[int, LeadFacts] = field(default_factory=dict)  # as loaded, to tell what changed
    new_lead_campaigns: Mapping[int, str] = field(default_factory=dict)  # new lead id -> campaign name
    new_campaigns: Mapping[str, str] = field(default_factory=dict)  # name -> campaign type
    merges: tuple[Merge, ...] = ()
    identities: tuple[tuple[Key, int], ...] = ()  # in key order
    history: tuple[tuple[Key, int], ...] = ()
    group_lead_ids: frozenset[int] = frozenset()  # leads whose account a group call of this batch set
    new_accounts: tuple[AccountFacts, ...] = ()
    changed_accounts: tuple[AccountFacts, ...] = ()  # in id order
    account_folds: tuple[tuple[int, int], ...] = ()
    events: tuple[EventResolution, ...] = ()

    @property
    def new_leads(self) -> tuple[LeadFacts, ...]:
        return tuple(lead for lead in self.leads if lead.id < 0)
