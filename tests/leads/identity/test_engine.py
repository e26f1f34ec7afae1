"""The identity engine, without a database: facts in, a plan of writes out."""

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.identity.engine import batch_keys, key_lock_ids, leads_to_update, resolve
from leads.identity.facts import (
    ANONYMOUS,
    DOMAIN,
    EMAIL,
    GROUP_ID,
    USER,
    AccountFacts,
    HistorySeen,
    KnownIdentities,
    LeadFacts,
    message_facts,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)


def message(number: int, kind: str, *, user="", anonymous="", previous="", group="", event="", traits=None, **extra):
    """A stored event as the service reads it; `number` is its id and its minute after T0."""
    return message_facts(
        {
            "id": number,
            "source_id": 1,
            "type": kind,
            "event": event,
            "user_id": user,
            "anonymous_id": anonymous,
            "group_id": group,
            "previous_id": previous,
            "traits": traits or {},
            "context": extra.get("context", {}),
            "timestamp": T0 + timedelta(minutes=number),
        }
    )


def stored_lead(lead_id: int, **fields) -> LeadFacts:
    return LeadFacts(id=lead_id, created_at=T0 - timedelta(days=lead_id), **fields)


def leads_of(plan) -> dict[int, LeadFacts]:
    return {lead.id: lead for lead in plan.leads}


def event_leads(plan) -> dict[int, int | None]:
    return {event.id: event.lead_id for event in plan.events}


def test_the_engine_imports_no_django_and_no_app_module_but_its_pure_helpers():
    # given: a fresh interpreter, so nothing else has imported Django first
    code = (
        "import json, sys, leads.identity.engine; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] "
        "in ('django', 'leads', 'scoring', 'routing', 'qualify_site'))))"
    )

    # when
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[3]
    ).stdout

    # then
    assert json.loads(output) == [
        "leads",
        "leads.emails",
        "leads.identity",
        "leads.identity.accounts",
        "leads.identity.engine",
        "leads.identity.facts",
        "leads.identity.traits",
    ]


# --- People -------------------------------------------------------------------


def test_an_identify_creates_a_lead_with_its_traits_and_every_identity():
    # given
    identify = message(
        1, "identify", user="u-1", anonymous="a-1", traits={"email": " Ann@Acme.com", "title": "VP", "tier": "gold"}
    )

    # when
    plan = resolve([identify], KnownIdentities(), now=NOW)

    # then
    [lead] = plan.new_leads
    assert (lead.email, lead.title, dict(lead.traits), lead.source_id) == ("ann@acme.com", "VP", {"tier": "gold"}, 1)
    assert lead.first_seen_at == lead.last_seen_at == T0 + timedelta(minutes=1)
    assert plan.identities == (
        ((ANONYMOUS, "a-1"), lead.id),
        ((EMAIL, "ann@acme.com"), lead.id),
        ((USER, "u-1"), lead.id),
    )
    assert plan.history == (((ANONYMOUS, "a-1"), lead.id), ((USER, "u-1"), lead.id))
    assert event_leads(plan) == {1: lead.id}


@pytest.mark.parametrize(
    "messages",
    [
        [message(1, "track", user="u-404", event="Job Run")],
        [message(1, "page", anonymous="a-404")],
        [message(1, "identify", anonymous="a-404", traits={"title": "CTO"})],  # traits, but nobody to give them to
    ],
    ids=["unknown-user-track", "unknown-anonymous-page", "anonymous-only-identify"],
)
def test_an_event_nobody_can_be_matched_to_is_kept_without_a_lead(messages):
    # when
    plan = resolve(messages, KnownIdentities(), now=NOW)

    # then: nothing is created, the event is marked with no lead
    assert (plan.leads, plan.identities, plan.history, plan.new_accounts) == ((), (), (), ())
    assert event_leads(plan) == {1: None}


def test_a_known_user_id_attributes_the_event_and_teaches_the_lead_a_new_anonymous_id():
    # given
    known = KnownIdentities(identities={(USER, "u-1"): 7}, leads={7: stored_lead(7)})

    # when
    plan = resolve([message(1, "track", user="u-1", anonymous="a-9", event="Job Run")], known, now=NOW)

    # then
    assert plan.new_leads == ()
    assert plan.identities == (((ANONYMOUS, "a-9"), 7),)
    assert event_leads(plan) == {1: 7}


def test_an_anonymous_event_earlier_in_the_batch_joins_the_person_identified_later():
    # when
    plan = resolve(
        [message(1, "page", anonymous="a-1"), message(2, "identify", anonymous="a-1", user="u-1")],
        KnownIdentities(),
        now=NOW,
    )

    # then
    [lead] = plan.new_leads
    assert event_leads(plan) == {1: lead.id, 2: lead.id}
    assert lead.first_seen_at == T0 + timedelta(minutes=1)


def test_a_lead_known_by_email_only_takes_the_user_id_of_who_identifies_with_it():
    # given: imported with an email, no identity rows
    known = KnownIdentities(lead_by_email={"ann@acme.com": 3}, leads={3: stored_lead(3, email="ann@acme.com")})

    # when
    plan = resolve([message(1, "identify", user="u-1", traits={"email": "ann@acme.com"})], known, now=NOW)

    # then
    assert plan.new_leads == ()
    assert plan.identities == (((USER, "u-1"), 3),)
    assert event_leads(plan) == {1: 3}


def test_an_alias_links_the_previous_id_and_asks_for_its_history_under_either_kind():
    # given
    known = KnownIdentities(identities={(USER, "u-2"): 5}, leads={5: stored_lead(5)})

    # when
    plan = resolve([message(1, "alias", user="u-2", previous="a-2")], known, now=NOW)

    # then
    assert plan.identities == (((ANONYMOUS, "a-2"), 5),)
    assert set(plan.history) == {((ANONYMOUS, "a-2"), 5), ((USER, "a-2"), 5)}
    assert plan.merges == ()


@pytest.mark.parametrize(
    ("first", "second", "survivor"),
    [
        (stored_lead(1), stored_lead(2, email="eve@acme.com"), 2),  # the email-bearing lead survives
        (stored_lead(1), stored_lead(2), 2),  # else the older (stored_lead: a higher id is older)
    ],
    ids=["email-wins", "older-wins"],
)
def test_two_stored_leads_found_to_be_one_person_merge_into_one(first, second, survivor):
    # given
    known = KnownIdentities(
        identities={(USER, "u-1"): first.id, (ANONYMOUS, "a-1"): second.id},
        leads={first.id: replace(first, title="Engineer"), second.id: second},
    )

    # when
    plan = resolve([message(1, "identify", user="u-1", anonymous="a-1")], known, now=NOW)

    # then
    merged = first.id if survivor == second.id else second.id
    [merge] = plan.merges
    assert (merge.survivor_id, merge.merged_id) == (survivor, merged)
    assert merge.reason == "identify 1 (user_id=u-1, anonymous_id=a-1) linked both leads"
    leads = leads_of(plan)
    assert leads[merged].merged_into_id == survivor
    assert leads[survivor].title == "Engineer"
    assert event_leads(plan) == {1: survivor}


def test_a_known_merged_lead_resolves_to_its_survivor():
    # given
    known = KnownIdentities(
        identities={(USER, "u-4"): 4}, leads={4: stored_lead(4, merged_into_id=9), 9: stored_lead(9)}
    )

    # when
    plan = resolve([message(1, "track", user="u-4", event="Job Run")], known, now=NOW)

    # then
    assert event_leads(plan) == {1: 9}


def test_only_an_unsubscribed_event_unsubscribes_never_a_trait():
    # given
    known = KnownIdentities(
        identities={(USER, "u-1"): 1, (USER, "u-2"): 2}, leads={1: stored_lead(1), 2: stored_lead(2)}
    )
    messages = [
        message(1, "track", user="u-1", event="Unsubscribed"),
        message(2, "identify", user="u-2", traits={"is_unsubscribed": True}),
    ]

    # when
    leads = leads_of(resolve(messages, known, now=NOW))

    # then
    assert (leads[1].is_unsubscribed, leads[2].is_unsubscribed) == (True, False)


# --- Accounts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "accounts", "expected_domain"),
    [
        ("joe@northwind.io", (), "northwind.io"),  # a new account from the business domain
        ("joe@acme.com", (AccountFacts(id=4, name="Acme", domain="acme.com"),), "acme.com"),  # the stored one
        ("sam@gmail.com", (AccountFacts(id=4, name="Google", domain="gmail.com"),), None),  # never free mail
        ("stu@mit.edu", (), None),  # never a student
    ],
)
def test_a_lead_takes_the_account_of_its_business_email_domain(email, accounts, expected_domain):
    # when
    plan = resolve(
        [message(1, "identify", user="u-1", traits={"email": email})], KnownIdentities(accounts=accounts), now=NOW
    )

    # then
    [lead] = plan.new_leads
    every_account = {account.id: account for account in (*accounts, *plan.new_accounts)}
    assert (every_account[lead.account_id].domain if lead.account_id else None) == expected_domain
    assert len(plan.new_accounts) == (1 if expected_domain and not accounts else 0)


def test_a_group_call_makes_the_account_and_wins_over_the_email_domain():
    # given
    messages = [
        message(1, "identify", user="u-1", traits={"email": "pat@acme.com"}),
        message(2, "group", user="u-1", group="g-1", traits={"name": "Initech", "employees": "1,200", "x": 1}),
        message(3, "track", user="someone", event="Job Run", context={"groupId": "g-1"}),
    ]

    # when
    plan = resolve(messages, KnownIdentities(), now=NOW)

    # then
    [group_account] = [account for account in plan.new_accounts if account.group_id == "g-1"]
    assert (group_account.name, group_account.employee_count, dict(group_account.traits)) == ("Initech", 1200, {"x": 1})
    assert plan.new_leads[0].account_id == group_account.id
    assert plan.group_lead_ids == {plan.new_leads[0].id}
    assert [event.account_id for event in plan.events] == [None, group_account.id, group_account.id]


def test_a_group_call_folds_the_group_id_account_into_the_domain_account_of_the_same_company():
    # given: known by domain, and (bare) by the groupId a product event named
    domain_account = AccountFacts(id=1, name="Keystone", domain="keystone.com")
    bare = AccountFacts(id=2, group_id="g-40")
    known = KnownIdentities(accounts=(domain_account, bare))

    # when
    plan = resolve(
        [message(1, "group", anonymous="a-1", group="g-40", traits={"domain": "keystone.com"})], known, now=NOW
    )

    # then
    assert plan.account_folds == ((2, 1),)
    [changed] = plan.changed_accounts
    assert (changed.id, changed.group_id, changed.domain) == (1, "g-40", "keystone.com")
    assert plan.events[0].account_id == 1


# --- What a batch locks -----------------------------------------------------------


def test_a_batch_locks_its_ids_emails_group_ids_and_business_domains_but_not_free_mail():
    # given
    messages = [
        message(1, "identify", user="u-1", anonymous="a-1", traits={"email": "ann@acme.com"}),
        message(2, "identify", user="u-2", traits={"email": "bo@gmail.com"}),
        message(3, "alias", user="u-1", previous="old"),
        message(4, "group", user="u-1", group="g-1", traits={"website": "https://www.initech.com"}),
    ]

    # when
    keys = batch_keys(messages)

    # then
    assert keys == {
        (USER, "u-1"),
        (ANONYMOUS, "a-1"),
        (EMAIL, "ann@acme.com"),
        (USER, "u-2"),
        (EMAIL, "bo@gmail.com"),
        (USER, "old"),
        (ANONYMOUS, "old"),
        (GROUP_ID, "g-1"),
        (DOMAIN, "initech.com"),
        (DOMAIN, "acme.com"),
    }


def test_lock_ids_are_the_same_sorted_list_whatever_the_order_of_the_keys():
    keys = [(USER, f"u-{n}") for n in range(50)]

    assert key_lock_ids(keys) == key_lock_ids(reversed(keys)) == sorted(key_lock_ids(keys))


# --- History --------------------------------------------------------------------


def test_attached_history_widens_a_new_lead_and_gives_it_the_account_of_an_earlier_group_call():
    # given: the identify of someone whose group call was processed (unmatched) before
    plan = resolve([message(10, "identify", user="u-1", traits={"email": "ann@acme.com"})], KnownIdentities(), now=NOW)
    [lead] = plan.new_leads
    seen = {(USER, "u-1"): HistorySeen(first=T0, last=T0, group_account_id=42, group_at=T0)}

    # when
    [updated] = leads_to_update(plan, seen)

    # then: a group call wins over the email domain, whichever batch came first
    assert (updated.id, updated.first_seen_at, updated.account_id) == (lead.id, T0, 42)


def test_attached_history_never_replaces_a_stored_account_nor_one_this_batch_s_group_call_set():
    # given
    known = KnownIdentities(identities={(USER, "u-1"): 1}, leads={1: stored_lead(1, account_id=5)})
    plan = resolve(
        [message(10, "alias", user="u-1", previous="a-1"), message(11, "group", user="u-2", group="g-2")],
        known,
        now=NOW,
    )
    seen = {(ANONYMOUS, "a-1"): HistorySeen(first=T0, last=T0, group_account_id=42, group_at=T0)}

    # when
    [updated] = leads_to_update(plan, seen)

    # then
    assert (updated.account_id, updated.first_seen_at) == (5, T0)


@pytest.mark.parametrize(("minutes_later", "is_written"), [(2, False), (5, True)])
def test_a_stored_lead_seen_again_is_written_back_only_when_last_seen_moves_five_minutes(minutes_later, is_written):
    # given
    stored = stored_lead(1, first_seen_at=T0, last_seen_at=T0 + timedelta(minutes=1))
    known = KnownIdentities(identities={(USER, "u-1"): 1}, leads={1: stored})

    # when
    plan = resolve([message(1 + minutes_later, "track", user="u-1", event="Job Run")], known, now=NOW)

    # then
    assert bool(leads_to_update(plan, {})) is is_written


# --- Any order of batches -------------------------------------------------------


class Store:
    """The database as the service keeps it: what each plan writes, then history attached."""

    def __init__(self):
        self.identities: dict = {}
        self.leads: dict[int, LeadFacts] = {}
        self.event_leads: dict[int, int | None] = {}
        self.events: dict = {}

    def root(self, lead_id: int) -> int:
        while self.leads[lead_id].merged_into_id is not None:
            lead_id = self.leads[lead_id].merged_into_id
        return lead_id

    def process(self, batch: list, now: datetime) -> None:
        batch = sorted(batch, key=lambda m: (m.timestamp, m.id))
        lead_by_email = {lead.email: lead.id for lead in self.leads.values() if lead.email}
        known = KnownIdentities(identities=dict(self.identities), leads=dict(self.leads), lead_by_email=lead_by_email)
        plan = resolve(batch, known, now=now)
        ids = {lead.id: len(self.leads) + n + 1 for n, lead in enumerate(plan.new_leads)}
        real = lambda lead_id: ids.get(lead_id, lead_id)  # noqa: E731
        for lead in plan.leads:
            self.leads[real(lead.id)] = replace(lead, id=real(lead.id), account_id=None)
        for merge in plan.merges:
            for key, lead_id in list(self.identities.items()):
                if lead_id == merge.merged_id:
                    self.identities[key] = merge.survivor_id
        for key, lead_id in plan.identities:
            self.identities[key] = real(lead_id)
        for (kind, value), lead_id in sorted(plan.history):  # anonymous ids first, as the service does
            column = 0 if kind == USER else 1
            for event_id, keys in self.events.items():
                if keys[column] == value and self.event_leads[event_id] is None:
                    self.event_leads[event_id] = real(lead_id)
        for event, message_ in zip(plan.events, batch, strict=True):
            self.events[event.id] = (message_.user_id, message_.anonymous_id)
            self.event_leads[event.id] = real(event.lead_id) if event.lead_id is not None else None

    def partition(self) -> set[frozenset]:
        people: dict[int, set] = {}
        for key, lead_id in self.identities.items():
            people.setdefault(self.root(lead_id), set()).add(key)
        return {frozenset(keys) for keys in people.values()}

    def unattached_with_known_identity(self) -> list[int]:
        return [
            event_id
            for event_id, (user_id, anonymous_id) in self.events.items()
            if self.event_leads[event_id] is None
            and ((USER, user_id) in self.identities or (ANONYMOUS, anonymous_id) in self.identities)
        ]


USERS = st.sampled_from(["u-1", "u-2", "u-3"])
ANONYMOUS_IDS = st.sampled_from(["a-1", "a-2", "a-3"])
EMAILS = st.sampled_from(["ann@acme.com", "bo@acme.com"])
# What links people: identify calls under any ids, aliases from an anonymous id to
# a user id, and product events under one id. (An event under two ids that
# belong to two people is attributed, not merged: shared devices; so is one
# teaching an id to a lead only when the other is known. Neither is an order-free
# rule, and neither is generated here.)
MESSAGES = st.one_of(
    st.builds(
        lambda user, anonymous, email: ("identify", user, anonymous, "", email),
        st.one_of(st.just(""), USERS),
        st.one_of(st.just(""), ANONYMOUS_IDS),
        st.one_of(st.just(None), EMAILS),
    ),
    st.builds(lambda user, previous: ("alias", user, "", previous, None), USERS, ANONYMOUS_IDS),
    st.builds(lambda user: ("track", user, "", "", None), USERS),
    st.builds(lambda anonymous: ("page", "", anonymous, "", None), ANONYMOUS_IDS),
)


@st.composite
def batches_and_an_order(draw):
    specs = draw(st.lists(st.lists(MESSAGES, min_size=1, max_size=4), min_size=1, max_size=5))
    batches, number = [], 0
    for batch_specs in specs:
        batch = []
        for kind, user, anonymous, previous, email in batch_specs:
            number += 1
            traits = {"email": email} if email else {}
            batch.append(message(number, kind, user=user, anonymous=anonymous, previous=previous, traits=traits))
        batches.append(batch)
    return batches, draw(st.permutations(range(len(batches))))


@settings(max_examples=300, deadline=None)
@given(batches_and_an_order())
def test_any_processing_order_of_the_batches_ends_with_the_same_people_and_every_known_event_attached(case):
    # given
    batches, order = case

    # when: processed in the order they were sent, and in another
    in_order, reordered = Store(), Store()
    for number, batch in enumerate(batches):
        in_order.process(batch, NOW + timedelta(seconds=number))
    for number, index in enumerate(order):
        reordered.process(batches[index], NOW + timedelta(seconds=number))

    # then
    assert reordered.partition() == in_order.partition()
    assert in_order.unattached_with_known_identity() == []
    assert reordered.unattached_with_known_identity() == []
