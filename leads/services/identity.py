"""Identity resolution: turn a batch of stored events into leads, accounts and links.

`events_process_batch` is what the worker runs for each ingestion request. It
works on the whole batch at once so that a 500-event batch costs a handful of
queries, not thousands (target: 5,000 events/s per worker process):

1. claim the batch's unprocessed events (`SELECT ... FOR UPDATE SKIP LOCKED`),
2. load every identity, lead and account the batch can refer to in a few queries,
3. resolve in memory, in timestamp order (`_Resolver`),
4. write back in bulk: campaigns, accounts, new leads, merges, identities,
   history attachment, lead updates, and one UPDATE that marks the events.

Everything happens in one transaction: a worker killed half-way leaves nothing
behind, and the events stay unprocessed for the next delivery or the sweeper.
Processing twice is harmless because only events with `processed_at` NULL are
claimed.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max, Min, ProtectedError, Q, RestrictedError
from django.utils import timezone

from leads.emails import email_domain, is_free_mail_domain, is_student_domain
from leads.identity.traits import (
    AccountTraits,
    LeadTraits,
    account_traits_parse,
    campaign_type_for,
    company_name_from_domain,
    lead_traits_parse,
)
from leads.models import (
    UNMATCHED_EVENT,
    Account,
    Campaign,
    Event,
    EventType,
    Identity,
    IdentityKind,
    Lead,
    segment_for_employees,
)
from leads.services.identity_writes import events_mark_processed, lead_merge_write
from qualify_site import bulk_sql

logger = logging.getLogger(__name__)

USER = IdentityKind.USER_ID.value
ANONYMOUS = IdentityKind.ANONYMOUS_ID.value
EMAIL = IdentityKind.EMAIL.value

UNSUBSCRIBED_EVENT = "Unsubscribed"
# Attempts when a concurrent worker created the same lead/identity/account
# between our read and our insert: the retry reads theirs and links to it.
_CONFLICT_ATTEMPTS = 3

_LEAD_UPDATE_FIELDS = [
    "email",
    "first_name",
    "last_name",
    "title",
    "department",
    "seniority",
    "country",
    "region",
    "phone",
    "account",
    "source",
    "campaign",
    "is_unsubscribed",
    "traits",
    "merged_into",
    "first_seen_at",
    "last_seen_at",
    "updated_at",
]
_LEAD_TEXT_FIELDS = ("first_name", "last_name", "title", "department", "seniority", "country", "region", "phone")
_ACCOUNT_UPDATE_FIELDS = [
    "name",
    "domain",
    "group_id",
    "industry",
    "employee_count",
    "country",
    "region",
    "segment",
    "plan",
    "seats",
    "traits",
    "updated_at",
]

Key = tuple[str, str]

LAST_SEEN_RESOLUTION = timedelta(minutes=5)
_LEAD_STATE_ATTNAMES = [
    Lead._meta.get_field(name).attname
    for name in _LEAD_UPDATE_FIELDS
    if name not in ("first_seen_at", "last_seen_at", "updated_at")
]


def _lead_state(lead: Lead) -> tuple:
    return tuple(getattr(lead, attname) for attname in _LEAD_STATE_ATTNAMES)


def events_process_batch(*, batch_id: str) -> int:
    """Resolve and mark processed every unprocessed event of an ingestion batch.

    Returns how many events this call processed (0 when the batch was already
    done or another worker holds it). Idempotent.
    """
    for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _batch_process(str(batch_id))
        except IntegrityError:
            if attempt == _CONFLICT_ATTEMPTS:
                raise
            logger.info("batch %s: concurrent identity write, retrying (%s)", batch_id, attempt)
    return 0  # pragma: no cover - the loop returns or raises


# --- In-memory model ------------------------------------------------------


@dataclass(eq=False)
class _Person:
    """One lead as the batch sees it: an existing row, or a new one not yet inserted.

    Persons found to be the same are joined union-find style (`parent`).
    """

    lead: Lead
    is_new: bool
    parent: "_Person | None" = None
    group_account: Account | None = None  # from a group call: wins over the email domain
    campaign: tuple[str, str] | None = None  # (name, medium) of the event that created it
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    stored: tuple | None = None  # (state, first_seen_at, last_seen_at) as loaded, for existing leads

    def needs_write(self) -> bool:
        """Whether the existing lead changed enough to be written back.

        last_seen_at alone is kept to LAST_SEEN_RESOLUTION: an active user
        sends a batch every few seconds, and rewriting the lead (and its
        dozen indexes) each time would cost more than all the resolution.
        """
        if self.stored is None:
            return True
        state, first_seen_at, last_seen_at = self.stored
        lead = self.lead
        if _lead_state(lead) != state or lead.first_seen_at != first_seen_at:
            return True
        if last_seen_at is None:
            return lead.last_seen_at is not None
        return lead.last_seen_at is not None and lead.last_seen_at - last_seen_at >= LAST_SEEN_RESOLUTION

    def root(self) -> "_Person":
        person = self
        while person.parent is not None:
            person = person.parent
        return person

    def seen(self, at: datetime | None) -> None:
        if at is None:
            return
        self.first_seen = at if self.first_seen is None else min(self.first_seen, at)
        self.last_seen = at if self.last_seen is None else max(self.last_seen, at)


@dataclass
class _Message:
    id: int
    source_id: int
    type: str
    event: str
    user_id: str
    anonymous_id: str
    previous_id: str
    group_id: str  # the group call's groupId, or the context.groupId of any other event
    # Traits parsed once here, not again by each step that reads them (this is the per-event hot path):
    lead_traits: LeadTraits | None  # an identify call's traits
    context_lead_traits: LeadTraits | None  # context.traits, on any message that has them
    account_traits: AccountTraits | None  # a group call's traits
    campaign: tuple[str, str] | None
    timestamp: datetime
    email: str | None = None
    person: _Person | None = None
    account: Account | None = None

    @property
    def keys(self) -> list[Key]:
        keys = []
        if self.user_id:
            keys.append((USER, self.user_id))
        if self.anonymous_id:
            keys.append((ANONYMOUS, self.anonymous_id))
        if self.email:
            keys.append((EMAIL, self.email))
        return keys


_EVENT_COLUMNS = ("id", "source_id", "type", "event", "user_id", "anonymous_id", "group_id", "previous_id")


def _batch_rows_claim(batch_id: str) -> list[dict]:
    """Lock and read the batch's unprocessed events, in the order they happened.

    SKIP LOCKED: when a redelivered task runs while the first is still at
    work, it finds nothing to do instead of waiting to do it twice.
    """
    if not bulk_sql.is_postgresql():
        return list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(batch_id=batch_id, processed_at__isnull=True)
            .order_by("timestamp", "id")
            .values(*_EVENT_COLUMNS, "traits", "context", "timestamp")
        )
    # On PostgreSQL only the parts of the JSON resolution reads are sent over:
    # a context (library, page, user agent, ip ...) is mostly irrelevant here.
    # "processed_at IS NULL" is tested here rather than in SQL: there it lets
    # the planner AND the batch's ids with the partial unprocessed index,
    # which holds the whole backlog (with stale statistics it does: 7 ms of a
    # 10 ms claim with a 300k backlog). A redelivered batch's processed rows
    # are locked for nothing, which is rare and harmless.
    with bulk_sql.server_cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(_EVENT_COLUMNS)}, "  # noqa: S608 - identifiers are ours
            "CASE WHEN type IN ('identify', 'group') THEN traits END, "
            "jsonb_build_object('traits', context->'traits', 'groupId', context->'groupId', "
            "'group_id', context->'group_id', 'campaign', context->'campaign'), timestamp, processed_at "
            f"FROM {Event._meta.db_table} WHERE batch_id = %s "
            "ORDER BY timestamp, id FOR UPDATE SKIP LOCKED",
            [batch_id],
        )
        rows = cursor.fetchall()
    columns = (*_EVENT_COLUMNS, "traits", "context", "timestamp")
    return [dict(zip(columns, row[:-1], strict=True)) for row in rows if row[-1] is None]


def _json(value: object) -> dict:
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def _message_from_row(row: dict) -> _Message:
    context = _json(row["context"])
    traits = _json(row["traits"])
    context_traits = context.get("traits") if isinstance(context.get("traits"), dict) else {}
    group_id = row["group_id"]
    if row["type"] != EventType.GROUP:
        raw = context.get("groupId") or context.get("group_id")
        group_id = str(raw)[:255] if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    campaign = None
    raw_campaign = context.get("campaign")
    if isinstance(raw_campaign, dict) and isinstance(raw_campaign.get("name"), str) and raw_campaign["name"].strip():
        campaign = (raw_campaign["name"].strip()[:200], str(raw_campaign.get("medium") or ""))
    is_identify, is_group = row["type"] == EventType.IDENTIFY, row["type"] == EventType.GROUP
    message = _Message(
        id=row["id"],
        source_id=row["source_id"],
        type=row["type"],
        event=row["event"],
        user_id=row["user_id"],
        anonymous_id=row["anonymous_id"],
        previous_id=row["previous_id"],
        group_id=group_id,
        lead_traits=lead_traits_parse(traits) if is_identify else None,
        context_lead_traits=lead_traits_parse(context_traits) if context_traits else None,
        account_traits=account_traits_parse(traits) if is_group else None,
        campaign=campaign,
        timestamp=row["timestamp"],
    )
    # An email in identify traits, or in context.traits on any message, identifies the person.
    if message.lead_traits is not None:
        message.email = message.lead_traits.email
    if message.email is None and message.context_lead_traits is not None:
        message.email = message.context_lead_traits.email
    return message


# --- The batch ------------------------------------------------------------


def _batch_process(batch_id: str) -> int:
    if bulk_sql.is_postgresql():
        # What this transaction writes can always be recomputed from the
        # events, which were committed durably at ingestion: if a crash loses
        # this commit, the events are simply unprocessed again and the sweeper
        # redoes them. So skip waiting for the WAL flush.
        with bulk_sql.server_cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    rows = _batch_rows_claim(batch_id)
    if not rows:
        return 0
    messages = [_message_from_row(row) for row in rows]
    resolver = _Resolver(messages)
    resolver.load()
    resolver.resolve()
    resolver.write()
    return len(messages)


class _Resolver:
    def __init__(self, messages: list[_Message]):
        self.messages = messages
        self.now = timezone.now()
        self.key_map: dict[Key, _Person] = {}
        self.db_keys: set[Key] = set()  # identities that already exist as rows
        self.persons_by_lead_id: dict[int, _Person] = {}
        self.new_persons: list[_Person] = []
        self.merges: list[tuple[_Person, _Person, str]] = []  # (survivor, merged, reason), both existing
        self.bound_keys: dict[Key, _Person] = {}  # identities to create
        self.history_keys: dict[Key, _Person] = {}  # ids whose earlier events attach now
        self.accounts_by_group: dict[str, Account] = {}
        self.accounts_by_domain: dict[str, Account] = {}
        self.new_accounts: list[Account] = []
        self.dirty_accounts: dict[int, Account] = {}
        self.batch_group_domains: dict[str, str] = {}  # groupId -> domain, from this batch's group calls
        self.account_aliases: dict[int, Account] = {}  # id(folded account) -> the account it became
        self.folded_accounts: list[tuple[Account, Account]] = []  # stored accounts to fold: (folded, into)

    # -- load ----------------------------------------------------------------

    def load(self) -> None:
        user_ids, anonymous_ids, emails = set(), set(), set()
        for message in self.messages:
            if message.user_id:
                user_ids.add(message.user_id)
            if message.anonymous_id:
                anonymous_ids.add(message.anonymous_id)
            if message.email:
                emails.add(message.email)
            if message.type == EventType.ALIAS and message.previous_id:
                # previousId may have been either kind of id.
                user_ids.add(message.previous_id)
                anonymous_ids.add(message.previous_id)

        condition = Q(pk__in=[])
        for kind, values in ((USER, user_ids), (ANONYMOUS, anonymous_ids), (EMAIL, emails)):
            if values:
                condition |= Q(kind=kind, value__in=values)
        identities = list(Identity.objects.filter(condition).values_list("kind", "value", "lead_id"))
        lead_by_email = dict(Lead.objects.filter(email__in=emails).values_list("email", "id")) if emails else {}

        lead_ids = {lead_id for _, _, lead_id in identities} | set(lead_by_email.values())
        leads = self._leads_lock(lead_ids)
        for kind, value, lead_id in identities:
            self.key_map[(kind, value)] = self._person_for(leads, lead_id)
            self.db_keys.add((kind, value))
        for email, lead_id in lead_by_email.items():
            # A lead imported with an email but no email identity row yet.
            self.key_map.setdefault((EMAIL, email), self._person_for(leads, lead_id))

        self._accounts_load(emails)

    def _leads_lock(self, lead_ids: set[int]) -> dict[int, Lead]:
        """Load and lock the leads, following merged leads to their survivors.

        Locked in id order so that two workers touching the same leads queue
        up instead of deadlocking, and never overwrite each other's updates.
        """
        leads: dict[int, Lead] = {}
        pending = set(lead_ids)
        while pending:
            for lead in Lead.objects.select_for_update().filter(id__in=pending).order_by("id"):
                leads[lead.id] = lead
            pending = {lead.merged_into_id for lead in leads.values() if lead.merged_into_id} - leads.keys()
        return leads

    def _person_for(self, leads: dict[int, Lead], lead_id: int) -> _Person:
        lead = leads[lead_id]
        while lead.merged_into_id is not None:
            lead = leads[lead.merged_into_id]
        person = self.persons_by_lead_id.get(lead.id)
        if person is None:
            person = self.persons_by_lead_id[lead.id] = _Person(lead=lead, is_new=False)
            person.stored = (_lead_state(lead), lead.first_seen_at, lead.last_seen_at)
        return person

    def _accounts_load(self, emails: set[str]) -> None:
        group_ids, domains = set(), set()
        for message in self.messages:
            if message.group_id:
                group_ids.add(message.group_id)
            if message.account_traits is not None and (domain := message.account_traits.domain):
                domains.add(domain)
                self.batch_group_domains.setdefault(message.group_id, domain)
        for email in emails | {p.lead.email for p in self.persons_by_lead_id.values() if p.lead.email}:
            domains.add(email_domain(email))
        if not group_ids and not domains:
            return
        # Not locked: accounts are mostly only read here, and group traits
        # are a full picture sent again on each call, so last writer wins.
        for account in Account.objects.filter(Q(group_id__in=group_ids) | Q(domain__in=domains)):
            if account.group_id:
                self.accounts_by_group[account.group_id] = account
            if account.domain:
                self.accounts_by_domain[account.domain] = account

    # -- resolve -------------------------------------------------------------

    def resolve(self) -> None:
        for message in self.messages:
            self._identity_resolve(message)
            if message.type == EventType.GROUP and message.group_id:
                message.account = self._account_from_group(message)
                if message.person is not None:
                    message.person.root().group_account = message.account
            elif message.group_id:
                message.account = self._account_for_group_id(message.group_id)
        # Second pass: an anonymous event earlier in the batch belongs to the
        # person identified later in the same batch.
        for message in self.messages:
            person = message.person or next((self.key_map[k] for k in message.keys if k in self.key_map), None)
            if person is not None:
                message.person = person = person.root()
                person.seen(message.timestamp)
                if message.type == EventType.TRACK and message.event == UNSUBSCRIBED_EVENT:
                    # The only way a lead becomes unsubscribed: never a trait.
                    person.lead.is_unsubscribed = True
        folded_ids = {folded.pk: into for folded, into in self.folded_accounts}
        for person in self._touched_persons():
            person.group_account = self._account_resolved(person.group_account)
            if person.lead.account_id in folded_ids:
                person.lead.account = folded_ids[person.lead.account_id]
            self._lead_account_resolve(person)
        for message in self.messages:
            message.account = self._account_resolved(message.account)

    def _identity_resolve(self, message: _Message) -> None:
        keys = message.keys
        lookup = list(keys)
        if message.type == EventType.ALIAS and message.previous_id:
            lookup += [(USER, message.previous_id), (ANONYMOUS, message.previous_id)]
        known: list[_Person] = []
        for key in lookup:
            if (person := self.key_map.get(key)) is not None and (root := person.root()) not in known:
                known.append(root)

        is_identifying = message.type in (EventType.IDENTIFY, EventType.ALIAS) or message.email is not None
        if is_identifying:
            if known:
                person = known[0]
                for other in known[1:]:
                    person = self._persons_join(person, other, message)
            elif message.user_id or message.email:
                person = self._person_create(message)
            else:
                return  # identify with only an anonymousId: nobody to attach the traits to yet
        elif known:
            # A track/page/group seen under a known id: attribute it, and learn
            # any new id it carries. Two different known leads on a plain event
            # are not merged (shared devices); the userId wins.
            person = self.key_map[keys[0]].root() if keys[0] in self.key_map else known[0]
        else:
            return

        for key in keys:
            self._key_bind(key, person)
        if message.type == EventType.ALIAS and message.previous_id:
            previous_keys = [(USER, message.previous_id), (ANONYMOUS, message.previous_id)]
            if not any(key in self.key_map for key in previous_keys):
                self._key_bind((ANONYMOUS, message.previous_id), person)
            # Earlier events may carry previousId as either kind of id.
            self.history_keys.setdefault((USER, message.previous_id), person)
            self.history_keys.setdefault((ANONYMOUS, message.previous_id), person)
        message.person = person

        if message.lead_traits is not None:
            self._lead_traits_apply(person, message.lead_traits, overwrite=True)
        if message.context_lead_traits is not None:
            self._lead_traits_apply(person, message.context_lead_traits, overwrite=False)
        if message.email and not person.lead.email:
            person.lead.email = message.email

    def _key_bind(self, key: Key, person: _Person) -> None:
        current = self.key_map.get(key)
        if current is not None and current.root() is person.root():
            return
        if current is None:
            self.key_map[key] = person
            self.bound_keys[key] = person
            if key[0] != EMAIL:
                self.history_keys[key] = person

    def _person_create(self, message: _Message) -> _Person:
        lead = Lead(source_id=message.source_id, traits={}, created_at=self.now)
        person = _Person(lead=lead, is_new=True, campaign=message.campaign)
        self.new_persons.append(person)
        return person

    def _persons_join(self, first: _Person, second: _Person, message: _Message) -> _Person:
        """The same person under two records: keep one, fold the other into it."""
        if first.is_new != second.is_new:
            # An existing lead absorbs one this batch was about to create.
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
        survivor_lead, merged_lead = survivor.lead, merged.lead
        # What a new record learnt in this batch is newer than what is stored.
        newer = merged.is_new and not survivor.is_new
        for name in _LEAD_TEXT_FIELDS:
            value = getattr(merged_lead, name)
            if value and (newer or not getattr(survivor_lead, name)):
                setattr(survivor_lead, name, value)
        for name in ("account_id", "source_id", "campaign_id"):
            if getattr(survivor_lead, name) is None and getattr(merged_lead, name) is not None:
                setattr(survivor_lead, name, getattr(merged_lead, name))
        if survivor.campaign is None:
            survivor.campaign = merged.campaign
        survivor_lead.is_unsubscribed = survivor_lead.is_unsubscribed or merged_lead.is_unsubscribed
        survivor_lead.traits = (
            {**survivor_lead.traits, **merged_lead.traits} if newer else {**merged_lead.traits, **survivor_lead.traits}
        )
        if survivor_lead.email is None and merged_lead.email is not None and merged.is_new:
            survivor_lead.email = merged_lead.email
        survivor_lead.first_seen_at = min(
            filter(None, (survivor_lead.first_seen_at, merged_lead.first_seen_at)), default=None
        )
        survivor_lead.last_seen_at = max(
            filter(None, (survivor_lead.last_seen_at, merged_lead.last_seen_at)), default=None
        )
        if not merged.is_new:
            ids = ", ".join(f"{kind}={value}" for kind, value in message.keys) or message.previous_id
            reason = f"{message.type} {message.id} ({ids}) linked both leads"
            self.merges.append((survivor, merged, reason[:500]))
        return survivor

    def _lead_traits_apply(self, person: _Person, parsed: LeadTraits, *, overwrite: bool) -> None:
        lead = person.lead
        for name, value in parsed.fields.items():
            if overwrite or not getattr(lead, name):
                setattr(lead, name, value)
        if parsed.extra:
            lead.traits = {**lead.traits, **parsed.extra} if overwrite else {**parsed.extra, **lead.traits}

    # -- accounts ------------------------------------------------------------

    def _account_new(self, **values) -> Account:
        account = Account(traits={}, created_at=self.now, **values)
        self.new_accounts.append(account)
        if account.group_id:
            self.accounts_by_group[account.group_id] = account
        if account.domain:
            self.accounts_by_domain[account.domain] = account
        return account

    def _account_touch(self, account: Account) -> None:
        if account.pk is not None:
            self.dirty_accounts[account.pk] = account

    def _account_for_group_id(self, group_id: str) -> Account:
        """The account a product event's context.groupId names; created bare until its group call arrives."""
        account = self.accounts_by_group.get(group_id)
        if account is not None:
            return account
        # A group call later in this batch may name the domain of a known account.
        owner = self.accounts_by_domain.get(self.batch_group_domains.get(group_id, ""))
        if owner is not None and owner.group_id is None:
            owner.group_id = group_id
            self.accounts_by_group[group_id] = owner
            self._account_touch(owner)
            return owner
        return self._account_new(group_id=group_id)

    def _account_from_group(self, message: _Message) -> Account:
        parsed = message.account_traits or AccountTraits()
        account = self.accounts_by_group.get(message.group_id)
        if account is None and parsed.domain:
            account = self.accounts_by_domain.get(parsed.domain)
            if account is not None and account.group_id is None:
                account.group_id = message.group_id
                self.accounts_by_group[message.group_id] = account
        elif parsed.domain and account.domain is None:
            owner = self.accounts_by_domain.get(parsed.domain)
            if owner is not None and owner is not account and owner.group_id is None:
                # The same company twice: known by its groupId (say from a
                # product event's context) and by its domain (from an email).
                account = self._accounts_fold(folded=account, into=owner, group_id=message.group_id)
        if account is None:
            account = self._account_new(group_id=message.group_id)
        if parsed.domain and account.domain is None and parsed.domain not in self.accounts_by_domain:
            account.domain = parsed.domain
            self.accounts_by_domain[parsed.domain] = account
        for name, value in parsed.fields.items():
            setattr(account, name, value)
        if parsed.extra:
            account.traits = {**account.traits, **parsed.extra}
        self._account_touch(account)
        return account

    def _accounts_fold(self, *, folded: Account, into: Account, group_id: str) -> Account:
        """Make `into` the one account of a company also recorded as `folded`.

        An account is not a person: nothing about the folded row is worth
        keeping once everything pointing at it points at the survivor, so a
        stored one is deleted after its relations move (see `_accounts_write`).
        """
        for name in ("name", "industry", "employee_count", "country", "region", "plan", "seats", "owner_id"):
            if getattr(into, name) in (None, "") and getattr(folded, name) not in (None, ""):
                setattr(into, name, getattr(folded, name))
        into.traits = {**folded.traits, **into.traits}
        into.group_id = group_id
        self.accounts_by_group[group_id] = into
        self.account_aliases[id(folded)] = into
        if folded.pk is None:
            self.new_accounts.remove(folded)
        else:
            self.dirty_accounts.pop(folded.pk, None)
            self.folded_accounts.append((folded, into))
        self._account_touch(into)
        return into

    def _account_resolved(self, account: Account | None) -> Account | None:
        while account is not None and id(account) in self.account_aliases:
            account = self.account_aliases[id(account)]
        return account

    def _lead_account_resolve(self, person: _Person) -> None:
        lead = person.lead
        if person.group_account is not None:
            lead.account = person.group_account
            return
        if lead.account_id is not None or lead.email is None:
            return
        domain = email_domain(lead.email)
        # Thousands of unrelated people share gmail.com; students are not buyers.
        if is_free_mail_domain(domain) or is_student_domain(domain):
            return
        account = self.accounts_by_domain.get(domain)
        if account is None:
            account = self._account_new(domain=domain, name=company_name_from_domain(domain))
        lead.account = account

    def _touched_persons(self) -> list[_Person]:
        seen: dict[int, _Person] = {}
        for person in [*self.persons_by_lead_id.values(), *self.new_persons]:
            root = person.root()
            if root.first_seen is not None or root.is_new:
                seen[id(root)] = root
        return list(seen.values())

    # -- write ---------------------------------------------------------------

    def write(self) -> None:
        touched = self._touched_persons()
        self._campaigns_write(touched)
        self._accounts_write()
        for person in touched:
            lead = person.lead
            if lead.account_id is None and lead.account is not None:
                lead.account_id = lead.account.pk
            self._lead_seen_apply(person)
            lead.updated_at = self.now
        new_leads = [p.lead for p in touched if p.is_new]
        if new_leads:
            Lead.objects.bulk_create(new_leads)
        for survivor, merged, reason in self.merges:
            lead_merge_write(survivor=survivor.lead, merged=merged.lead, reason=reason, at=self.now)
        self._identities_write()
        # Attaching earlier events can move a new lead's first_seen_at back:
        # such leads are written again with the existing ones.
        widened = []
        for key, (first, last) in self._history_attach().items():
            person = self.history_keys[key].root()
            person.seen(first)
            person.seen(last)
            if self._lead_seen_apply(person) and person.is_new:
                widened.append(person.lead)
        to_update = {p.lead.pk: p.lead for p in touched if not p.is_new and p.needs_write()}
        to_update.update({m.lead.pk: m.lead for _, m, _ in self.merges})
        to_update.update({lead.pk: lead for lead in widened})
        if to_update:
            bulk_sql.unnest_update(Lead, [to_update[pk] for pk in sorted(to_update)], _LEAD_UPDATE_FIELDS)
        self._events_mark()

    @staticmethod
    def _lead_seen_apply(person: _Person) -> bool:
        """Widen the lead's first/last seen to what the batch saw; True when it changed."""
        lead = person.lead
        before = (lead.first_seen_at, lead.last_seen_at)
        lead.first_seen_at = min(filter(None, (lead.first_seen_at, person.first_seen)), default=None)
        lead.last_seen_at = max(filter(None, (lead.last_seen_at, person.last_seen)), default=None)
        return (lead.first_seen_at, lead.last_seen_at) != before

    def _campaigns_write(self, touched: list[_Person]) -> None:
        wanted = {p.campaign[0]: p.campaign[1] for p in touched if p.is_new and p.campaign}
        if not wanted:
            return
        Campaign.objects.bulk_create(
            [Campaign(name=name, type=campaign_type_for(medium, name)) for name, medium in wanted.items()],
            ignore_conflicts=True,
        )
        by_name = dict(Campaign.objects.filter(name__in=wanted).values_list("name", "id"))
        for person in touched:
            if person.is_new and person.campaign:
                person.lead.campaign_id = by_name.get(person.campaign[0])

    def _accounts_write(self) -> None:
        if self.folded_accounts:
            # Before the survivors are written: they take the folded accounts'
            # group_ids, which are unique, once the folded rows are gone.
            self._accounts_fold_write()
        for account in self.new_accounts:
            account.segment = segment_for_employees(account.employee_count)
            account.updated_at = self.now
        if self.new_accounts:
            Account.objects.bulk_create(self.new_accounts)
        dirty = sorted(self.dirty_accounts.values(), key=lambda account: account.pk)
        for account in dirty:
            # bulk_update bypasses Account.save(), which derives the segment.
            account.segment = segment_for_employees(account.employee_count)
            account.updated_at = self.now
        if dirty:
            bulk_sql.unnest_update(Account, dirty, _ACCOUNT_UPDATE_FIELDS)

    def _accounts_fold_write(self) -> None:
        mapping = {folded.pk: into.pk for folded, into in self.folded_accounts}
        for relation in Account._meta.related_objects:
            if not relation.one_to_many:
                continue
            model, field_name = relation.related_model, relation.field.name
            for old_pk, new_pk in mapping.items():
                model._base_manager.filter(**{field_name: old_pk}).update(**{field_name: new_pk})
        logger.info("accounts folded into the account of the same company: %s", mapping)
        try:
            with transaction.atomic():
                Account.objects.filter(pk__in=mapping).delete()
        except (IntegrityError, ProtectedError, RestrictedError):
            # Something from another app insists on them: keep the rows, without their groupIds.
            Account.objects.filter(pk__in=mapping).update(group_id=None, updated_at=self.now)

    def _identities_write(self) -> None:
        rows = [
            Identity(kind=kind, value=value[:255], lead_id=person.root().lead.pk, created_at=self.now)
            for (kind, value), person in self.bound_keys.items()
            if (kind, value) not in self.db_keys
        ]
        if rows:
            # A conflict here means another worker linked the same id meanwhile:
            # IntegrityError rolls back and events_process_batch retries.
            Identity.objects.bulk_create(rows)

    def _history_attach(self) -> dict[Key, tuple[datetime, datetime]]:
        """Earlier events under ids linked just now join their lead.

        Only processed events are attached here: unprocessed ones (this batch
        included) resolve through the new identities when their batch runs.
        Returns the first/last timestamps of what was attached, per id.
        """
        seen: dict[Key, tuple[datetime, datetime]] = {}
        for kind, column in ((ANONYMOUS, "anonymous_id"), (USER, "user_id")):
            pairs = [(value, person.root().lead.pk) for (k, value), person in self.history_keys.items() if k == kind]
            if not pairs:
                continue
            values = [value for value, _ in pairs]
            if bulk_sql.is_postgresql():
                with bulk_sql.server_cursor() as cursor:
                    # Candidates first, by the partial unmatched id index (its
                    # predicate spelt out so the planner can use it), locked in
                    # id order: locking re-checks "still unmatched" against a
                    # concurrent attachment, so the UPDATE needs nothing but the
                    # ids. Repeating "lead_id IS NULL" in the UPDATE would let
                    # the planner, on stale statistics, AND the ids with every
                    # NULL of the (lead, timestamp) index: the whole backlog.
                    cursor.execute(
                        "WITH candidates AS MATERIALIZED ("  # noqa: S608 - identifiers are ours
                        f"SELECT e.id, v.value, v.lead_id FROM {Event._meta.db_table} AS e "
                        "JOIN unnest(%s::text[], %s::bigint[]) AS v(value, lead_id) "
                        f"ON e.{column} = v.value WHERE e.{column} = ANY(%s::text[]) "
                        "AND e.lead_id IS NULL AND e.processed_at IS NOT NULL ORDER BY e.id FOR UPDATE OF e), "
                        f"attached AS (UPDATE {Event._meta.db_table} AS e SET lead_id = c.lead_id "
                        "FROM candidates AS c WHERE e.id = c.id "
                        "AND e.id = ANY(ARRAY(SELECT id FROM candidates)) RETURNING c.value, e.timestamp) "
                        "SELECT value, min(timestamp), max(timestamp) FROM attached GROUP BY value",
                        [values, [lead_id for _, lead_id in pairs], values],
                        prepare=False,
                    )
                    rows = cursor.fetchall()
            else:
                unattached = Event.objects.filter(UNMATCHED_EVENT)
                rows = list(
                    unattached.filter(**{f"{column}__in": values})
                    .values(column)
                    .annotate(first=Min("timestamp"), last=Max("timestamp"))
                    .order_by()
                    .values_list(column, "first", "last")
                )
                by_lead: dict[int, list[str]] = {}
                for value, lead_id in pairs:
                    by_lead.setdefault(lead_id, []).append(value)
                for lead_id, lead_values in by_lead.items():
                    unattached.filter(**{f"{column}__in": lead_values}).update(lead_id=lead_id)
            for value, first, last in rows:
                seen[(kind, value)] = (first, last)
        return seen

    def _events_mark(self) -> None:
        ids, lead_ids, account_ids = [], [], []
        for message in self.messages:
            lead = message.person.root().lead if message.person is not None else None
            account_id = message.account.pk if message.account is not None else (lead.account_id if lead else None)
            ids.append(message.id)
            lead_ids.append(lead.pk if lead else None)
            account_ids.append(account_id)
        events_mark_processed(ids=ids, lead_ids=lead_ids, account_ids=account_ids, at=self.now)
