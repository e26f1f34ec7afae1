"""Identity resolution: which ids and emails are one person, and which account. Pure Python, no Django.

`resolve(messages, known, now=...)` takes a batch's events in the order they
happened and what the database knows about their ids (facts.py), and returns
the `IdentityPlan` that the service writes. `batch_keys` names what a batch
reads (and the service locks), `leads_to_update` finishes the plan once the
history of newly linked ids is attached. The batch's accounts are accounts.py's.
See README.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from leads.emails import email_domain
from leads.identity.accounts import BatchAccounts, is_account_domain
from leads.identity.facts import (
    ALIAS,
    ANONYMOUS,
    DOMAIN,
    EMAIL,
    GROUP,
    GROUP_ID,
    IDENTIFY,
    LEAD_TEXT_FIELDS,
    TRACK,
    EventResolution,
    HistorySeen,
    IdentityPlan,
    Key,
    KnownIdentities,
    LeadFacts,
    Merge,
    MessageFacts,
)
from leads.identity.traits import LeadTraits, campaign_type_for

UNSUBSCRIBED_EVENT = "Unsubscribed"
# last_seen_at alone is kept to this: an active user sends a batch every few
# seconds, and rewriting the lead (and its dozen indexes) each time would
# cost more than all the resolution.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


def batch_keys(messages: Iterable[MessageFacts]) -> frozenset[Key]:
    """Every id, email, groupId and account domain the batch can read or create rows for."""
    keys: set[Key] = set()
    for message in messages:
        keys.update(message.keys)
        keys.update(message.previous_keys)
        if message.group_id:
            keys.add((GROUP_ID, message.group_id))
        if message.account_traits is not None and message.account_traits.domain:
            keys.add((DOMAIN, message.account_traits.domain))
        if message.email and is_account_domain(domain := email_domain(message.email)):
            keys.add((DOMAIN, domain))
    return frozenset(keys)


def key_lock_ids(keys: Iterable[Key]) -> list[int]:
    """The keys as 32-bit lock ids, sorted: every worker locks in this one order.

    A hash collision only makes two batches wait for each other needlessly.
    """
    ids = {
        int.from_bytes(hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=4).digest(), "big", signed=True)
        for kind, value in keys
    }
    return sorted(ids)


def resolve(messages: Sequence[MessageFacts], known: KnownIdentities, *, now: datetime) -> IdentityPlan:
    """Resolve a batch (messages in timestamp order) against what the database knows."""
    resolution = _Resolution(messages, known, now)
    resolution.resolve()
    return resolution.plan()


def lead_needs_write(stored: LeadFacts, lead: LeadFacts) -> bool:
    """Whether a stored lead changed enough to be written back (last_seen_at to LAST_SEEN_RESOLUTION)."""
    if replace(lead, last_seen_at=None) != replace(stored, last_seen_at=None):
        return True
    if stored.last_seen_at is None:
        return lead.last_seen_at is not None
    return lead.last_seen_at is not None and lead.last_seen_at - stored.last_seen_at >= LAST_SEEN_RESOLUTION


def leads_to_update(plan: IdentityPlan, seen: Mapping[Key, HistorySeen]) -> tuple[LeadFacts, ...]:
    """The plan's leads to write back once the `history` keys' earlier events are attached (`seen`).

    Attached events widen the lead's first/last seen. A group call among them
    gives its account to a lead that has none stored (a new lead's account
    from its email domain included), unless a group call of this batch set
    one: a group call wins over the email domain, whichever batch came first.
    New leads are listed only when the history changed them (they were inserted).
    """
    current = {lead.id: lead for lead in plan.leads}
    changed: dict[int, LeadFacts] = {}
    latest_group: dict[int, tuple[datetime, int]] = {}
    for key, lead_id in plan.history:
        found = seen.get(key)
        if found is None or lead_id not in current:
            continue
        lead = changed.get(lead_id, current[lead_id])
        changed[lead_id] = replace(
            lead,
            first_seen_at=min(filter(None, (lead.first_seen_at, found.first))),
            last_seen_at=max(filter(None, (lead.last_seen_at, found.last))),
        )
        if found.group_account_id is None or found.group_at is None:
            continue
        if lead_id not in latest_group or latest_group[lead_id][0] < found.group_at:
            latest_group[lead_id] = (found.group_at, found.group_account_id)
    for lead_id, (_, account_id) in latest_group.items():
        stored = plan.stored_leads.get(lead_id)
        if lead_id not in plan.group_lead_ids and (stored is None or stored.account_id is None):
            changed[lead_id] = replace(changed[lead_id], account_id=account_id)
    result = []
    for lead in plan.leads:
        final = changed.get(lead.id, lead)
        if lead.id < 0:
            if final != lead:
                result.append(final)
        elif lead_needs_write(plan.stored_leads[lead.id], final):
            result.append(final)
    return tuple(result)


@dataclass(eq=False)
class _Person:
    """One lead as the batch sees it. Persons found to be the same are joined union-find style (`parent`)."""

    lead: LeadFacts
    is_new: bool
    parent: _Person | None = None
    group_account: int | None = None  # from a group call: wins over the email domain
    campaign: tuple[str, str] | None = None  # (name, medium) of the event that created it
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    def root(self) -> _Person:
        person = self
        while person.parent is not None:
            person = person.parent
        return person

    def seen(self, at: datetime | None) -> None:
        if at is None:
            return
        self.first_seen = at if self.first_seen is None else min(self.first_seen, at)
        self.last_seen = at if self.last_seen is None else max(self.last_seen, at)

    def update(self, **changes) -> None:
        self.lead = replace(self.lead, **changes)


class _Resolution:
    def __init__(self, messages: Sequence[MessageFacts], known: KnownIdentities, now: datetime):
        self.messages = messages
        self.known = known
        self.now = now
        self.last_new_id = 0
        self.key_map: dict[Key, _Person] = {}
        self.persons_by_lead_id: dict[int, _Person] = {}
        self.new_persons: list[_Person] = []
        self.merges: list[tuple[_Person, _Person, str]] = []  # (survivor, merged, reason), both stored
        self.bound_keys: dict[Key, _Person] = {}  # identities to create
        self.history_keys: dict[Key, _Person] = {}  # ids whose earlier events attach now
        self.message_persons: list[_Person | None] = [None] * len(messages)
        self.message_accounts: list[int | None] = [None] * len(messages)
        for key, lead_id in known.identities.items():
            self.key_map[key] = self._person_for(lead_id)
        for email, lead_id in known.lead_by_email.items():
            # A lead imported with an email but no email identity row yet.
            self.key_map.setdefault((EMAIL, email), self._person_for(lead_id))
        # New accounts and new leads draw their negative ids from the one counter.
        self.accounts = BatchAccounts(known.accounts, messages, new_id=self._new_id)

    def _new_id(self) -> int:
        self.last_new_id -= 1
        return self.last_new_id

    def _person_for(self, lead_id: int) -> _Person:
        lead = self.known.leads[lead_id]
        while lead.merged_into_id is not None:
            lead = self.known.leads[lead.merged_into_id]
        person = self.persons_by_lead_id.get(lead.id)
        if person is None:
            person = self.persons_by_lead_id[lead.id] = _Person(lead=lead, is_new=False)
        return person

    # -- people ----------------------------------------------------------------

    def resolve(self) -> None:
        for index, message in enumerate(self.messages):
            person = self.message_persons[index] = self._identity_resolve(message)
            if message.type == GROUP and message.group_id:
                account_id = self.message_accounts[index] = self.accounts.from_group_call(message)
                if person is not None:
                    person.root().group_account = account_id
            elif message.group_id:
                self.message_accounts[index] = self.accounts.for_group_id(message.group_id)
        # Second pass: an anonymous event earlier in the batch belongs to the
        # person identified later in the same batch.
        for index, message in enumerate(self.messages):
            person = self.message_persons[index]
            person = person or next((self.key_map[k] for k in message.keys if k in self.key_map), None)
            if person is not None:
                self.message_persons[index] = person = person.root()
                person.seen(message.timestamp)
                if message.type == TRACK and message.event == UNSUBSCRIBED_EVENT:
                    # The only way a lead becomes unsubscribed: never a trait.
                    person.update(is_unsubscribed=True)
        for person in self._touched_persons():
            person.group_account = self.accounts.resolved(person.group_account)
            if person.lead.account_id is not None:
                person.update(account_id=self.accounts.resolved(person.lead.account_id))
            self._lead_account_resolve(person)
        self.message_accounts = [self.accounts.resolved(account_id) for account_id in self.message_accounts]

    def _identity_resolve(self, message: MessageFacts) -> _Person | None:
        keys = message.keys
        previous_keys = message.previous_keys
        known: list[_Person] = []
        for key in keys + previous_keys:
            if (person := self.key_map.get(key)) is not None and (root := person.root()) not in known:
                known.append(root)

        is_identifying = message.type in (IDENTIFY, ALIAS) or message.email is not None
        if is_identifying:
            if known:
                person = known[0]
                for other in known[1:]:
                    person = self._persons_join(person, other, message)
            elif message.user_id or message.email:
                person = self._person_create(message)
            else:
                return None  # identify with only an anonymousId: nobody to attach the traits to yet
        elif known:
            # A track/page/group seen under a known id: attribute it, and learn
            # any new id it carries. Two different known leads on a plain event
            # are not merged (shared devices); the userId wins.
            person = self.key_map[keys[0]].root() if keys[0] in self.key_map else known[0]
        else:
            return None

        for key in keys:
            self._key_bind(key, person)
        if previous_keys:
            if not any(key in self.key_map for key in previous_keys):
                self._key_bind((ANONYMOUS, message.previous_id), person)
            # Earlier events may carry previousId as either kind of id.
            for key in previous_keys:
                self.history_keys.setdefault(key, person)

        if message.lead_traits is not None:
            self._lead_traits_apply(person, message.lead_traits, overwrite=True)
        if message.context_lead_traits is not None:
            self._lead_traits_apply(person, message.context_lead_traits, overwrite=False)
        if message.email and not person.lead.email:
            person.update(email=message.email)
        return person

    def _key_bind(self, key: Key, person: _Person) -> None:
        current = self.key_map.get(key)
        if current is None:
            self.key_map[key] = person
            self.bound_keys[key] = person
            if key[0] != EMAIL:
                self.history_keys[key] = person

    def _person_create(self, message: MessageFacts) -> _Person:
        lead = LeadFacts(id=self._new_id(), source_id=message.source_id, created_at=self.now)
        person = _Person(lead=lead, is_new=True, campaign=message.campaign)
        self.new_persons.append(person)
        return person

    def _persons_join(self, first: _Person, second: _Person, message: MessageFacts) -> _Person:
        """The same person under two records: keep one, fold the other into it."""
        if first.is_new != second.is_new:
            # A stored lead absorbs one this batch was about to create.
            survivor, merged = (second, first) if first.is_new else (first, second)
        elif first.is_new:
            survivor, merged = first, second
        else:
            # The email-bearing lead survives, else the older one.
            survivor, merged = sorted(
                (first, second), key=lambda p: (p.lead.email is None, p.lead.created_at, p.lead.id)
            )
        merged.parent = survivor
        survivor.seen(merged.first_seen)
        survivor.seen(merged.last_seen)
        if survivor.group_account is None:
            survivor.group_account = merged.group_account
        if survivor.campaign is None:
            survivor.campaign = merged.campaign
        kept, folded = survivor.lead, merged.lead
        # What a new record learnt in this batch is newer than what is stored.
        newer = merged.is_new and not survivor.is_new
        changes: dict = {
            name: getattr(folded, name)
            for name in LEAD_TEXT_FIELDS
            if getattr(folded, name) and (newer or not getattr(kept, name))
        }
        for name in ("account_id", "source_id", "campaign_id"):
            if getattr(kept, name) is None and getattr(folded, name) is not None:
                changes[name] = getattr(folded, name)
        changes["is_unsubscribed"] = kept.is_unsubscribed or folded.is_unsubscribed
        changes["traits"] = {**kept.traits, **folded.traits} if newer else {**folded.traits, **kept.traits}
        if kept.email is None and folded.email is not None and merged.is_new:
            changes["email"] = folded.email
        changes["first_seen_at"] = min(filter(None, (kept.first_seen_at, folded.first_seen_at)), default=None)
        changes["last_seen_at"] = max(filter(None, (kept.last_seen_at, folded.last_seen_at)), default=None)
        survivor.update(**changes)
        if not merged.is_new:
            ids = ", ".join(f"{kind}={value}" for kind, value in message.keys) or message.previous_id
            reason = f"{message.type} {message.id} ({ids}) linked both leads"
            self.merges.append((survivor, merged, reason[:500]))
        return survivor

    @staticmethod
    def _lead_traits_apply(person: _Person, parsed: LeadTraits, *, overwrite: bool) -> None:
        lead = person.lead
        changes: dict = {name: value for name, value in parsed.fields.items() if overwrite or not getattr(lead, name)}
        if parsed.extra:
            changes["traits"] = {**lead.traits, **parsed.extra} if overwrite else {**parsed.extra, **lead.traits}
        if changes:
            person.update(**changes)

    def _touched_persons(self) -> list[_Person]:
        seen: dict[int, _Person] = {}
        for person in [*self.persons_by_lead_id.values(), *self.new_persons]:
            root = person.root()
            if root.first_seen is not None or root.is_new:
                seen[id(root)] = root
        return list(seen.values())

    # -- a lead's account ------------------------------------------------------

    def _lead_account_resolve(self, person: _Person) -> None:
        if person.group_account is not None:
            person.update(account_id=person.group_account)
            return
        lead = person.lead
        if lead.account_id is not None or lead.email is None:
            return
        domain = email_domain(lead.email)
        if not is_account_domain(domain):
            return
        person.update(account_id=self.accounts.for_email_domain(domain))

    # -- the plan --------------------------------------------------------------

    def plan(self) -> IdentityPlan:
        touched = self._touched_persons()
        leads = []
        for person in touched:
            lead = person.lead
            leads.append(
                replace(
                    lead,
                    first_seen_at=min(filter(None, (lead.first_seen_at, person.first_seen)), default=None),
                    last_seen_at=max(filter(None, (lead.last_seen_at, person.last_seen)), default=None),
                )
            )
        leads += [replace(merged.lead, merged_into_id=survivor.lead.id) for survivor, merged, _ in self.merges]
        new_campaigns = {p.campaign[0]: p.campaign[1] for p in touched if p.is_new and p.campaign}
        stored_ids = {lead.id for lead in leads if lead.id > 0}
        # Unique columns are written in one order by every worker (sorted keys,
        # sorted account keys, ids): no two transactions wait on each other's rows crosswise.
        return IdentityPlan(
            leads=tuple(leads),
            stored_leads={lead_id: self.known.leads[lead_id] for lead_id in stored_ids},
            new_lead_campaigns={p.lead.id: p.campaign[0] for p in touched if p.is_new and p.campaign},
            new_campaigns={name: campaign_type_for(medium, name) for name, medium in sorted(new_campaigns.items())},
            merges=tuple(Merge(s.lead.id, m.lead.id, reason) for s, m, reason in self.merges),
            identities=tuple(
                sorted(
                    (key, person.root().lead.id)
                    for key, person in self.bound_keys.items()
                    if key not in self.known.identities
                )
            ),
            history=tuple(sorted((key, person.root().lead.id) for key, person in self.history_keys.items())),
            group_lead_ids=frozenset(p.lead.id for p in touched if p.group_account is not None),
            new_accounts=self.accounts.new_accounts(),
            changed_accounts=self.accounts.changed_accounts(),
            account_folds=tuple(self.accounts.folds),
            events=tuple(
                EventResolution(
                    id=message.id,
                    lead_id=person.root().lead.id if person is not None else None,
                    account_id=account_id,
                )
                for message, person, account_id in zip(
                    self.messages, self.message_persons, self.message_accounts, strict=True
                )
            ),
        )
