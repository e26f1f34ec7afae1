"""Identity resolution: events become leads and accounts, history attaches, duplicates merge."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import (
    Account,
    Campaign,
    Event,
    Identity,
    Lead,
    LeadMerge,
    Outcome,
    OutcomeKind,
    Segment,
    Stage,
    StageChange,
)
from leads.selectors_identity import unmatched_identity_list
from leads.services.identity import events_process_batch
from qualify_site import bulk_sql as bulk_sql_module
from tests.worker_utils import ingest

pytestmark = [pytest.mark.django_db]

T0 = timezone.now().replace(microsecond=0) - timedelta(days=3)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def source(source_with_key):
    return source_with_key[0]


def process(source, messages: list[dict]) -> str:
    batch_id = ingest(source, messages)
    events_process_batch(batch_id=batch_id)
    return batch_id


def identify(minutes=0, **fields):
    traits = fields.pop("traits", {})
    return {"type": "identify", "traits": traits, "timestamp": at(minutes), **fields}


def track(event, minutes=0, **fields):
    return {"type": "track", "event": event, "timestamp": at(minutes), **fields}


def page(minutes=0, **fields):
    return {"type": "page", "name": "Pricing", "properties": {"path": "/pricing"}, "timestamp": at(minutes), **fields}


def group(group_id, traits, minutes=0, **fields):
    return {"type": "group", "groupId": group_id, "traits": traits, "timestamp": at(minutes), **fields}


def test_it_creates_a_lead_from_an_identify_with_its_attributes_and_identities(source):
    # given
    message = identify(
        userId="u-1",
        anonymousId="a-1",
        traits={
            "email": " Ann@Acme.COM ",
            "firstName": "Ann",
            "last_name": "Lee",
            "title": "VP Data",
            "department": "Engineering",
            "seniority": "vp",
            "country": "DE",
            "phone": "+49 30 1234",
            "favourite_color": "teal",
        },
    )

    # when
    process(source, [message])

    # then
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.last_name, lead.title) == ("ann@acme.com", "Ann", "Lee", "VP Data")
    assert (lead.department, lead.seniority, lead.country, lead.phone) == ("Engineering", "vp", "DE", "+49 30 1234")
    assert lead.traits == {"favourite_color": "teal"}
    assert lead.source == source
    assert lead.first_seen_at == lead.last_seen_at == T0
    assert set(lead.identities.values_list("kind", "value")) == {
        ("user_id", "u-1"),
        ("anonymous_id", "a-1"),
        ("email", "ann@acme.com"),
    }
    assert Event.objects.get().lead == lead


def test_anonymous_history_attaches_when_the_person_identifies_later(source):
    # given: a visitor browses anonymously; nobody can be matched yet
    process(source, [page(0, anonymousId="a-7"), track("Asset Downloaded", 5, anonymousId="a-7")])
    assert Event.objects.filter(lead__isnull=True, processed_at__isnull=False).count() == 2
    [unmatched] = unmatched_identity_list()
    assert (unmatched.kind, unmatched.value, unmatched.event_count) == ("anonymous_id", "a-7", 2)

    # when: the same browser fills in a form
    process(source, [identify(60, anonymousId="a-7", traits={"email": "kim@acme.com"})])

    # then
    lead = Lead.objects.get()
    assert Event.objects.filter(lead=lead).count() == 3
    assert lead.first_seen_at == T0
    assert lead.last_seen_at == T0 + timedelta(minutes=60)
    assert unmatched_identity_list() == []


def test_an_anonymous_event_earlier_in_the_same_batch_attaches_to_the_identified_lead(source):
    # when
    process(source, [page(0, anonymousId="a-8"), identify(1, anonymousId="a-8", userId="u-8")])

    # then
    lead = Lead.objects.get()
    assert Event.objects.filter(lead=lead).count() == 2


def test_a_known_anonymous_id_teaches_the_lead_a_new_user_id(source):
    # given
    process(source, [identify(0, anonymousId="a-9", traits={"email": "lu@acme.com"})])

    # when
    process(source, [track("Signed Up", 5, anonymousId="a-9", userId="u-9")])
    process(source, [track("Job Run", 9, userId="u-9")])

    # then
    lead = Lead.objects.get()
    assert Identity.objects.get(kind="user_id", value="u-9").lead == lead
    assert Event.objects.filter(lead=lead).count() == 3


def test_a_track_from_an_unknown_user_stays_unmatched_until_identified(source):
    # given
    process(source, [track("Job Run", 0, userId="u-404")])
    [unmatched] = unmatched_identity_list()
    assert (unmatched.kind, unmatched.value, unmatched.source) == ("user_id", "u-404", source.name)

    # when
    process(source, [identify(10, userId="u-404")])

    # then
    assert Event.objects.filter(lead__isnull=True).count() == 0


@pytest.mark.parametrize("bulk_sql", [True, False], ids=["postgresql-unnest", "portable"])
def test_an_event_attached_through_one_id_stays_when_its_other_id_is_linked_to_another_lead(
    source, monkeypatch, bulk_sql
):
    # given: an event under two unknown ids, attached through its anonymousId
    if bulk_sql and connection.vendor != "postgresql":
        pytest.skip("the unnest() path is PostgreSQL only")
    monkeypatch.setattr(bulk_sql_module, "is_postgresql", lambda: bulk_sql)
    process(source, [track("Job Run", 0, userId="u-30", anonymousId="a-30")])
    process(source, [identify(5, anonymousId="a-30", traits={"email": "ana@acme.com"})])
    first = Lead.objects.get(email="ana@acme.com")
    assert Event.objects.get(event="Job Run").lead == first

    # when: its userId turns out to belong to someone else
    process(source, [identify(10, userId="u-30", traits={"email": "bo@initech.com"})])

    # then: only unmatched history attaches; the event keeps its lead
    second = Lead.objects.get(email="bo@initech.com")
    assert Event.objects.get(event="Job Run").lead == first
    assert Event.objects.filter(lead=second).count() == 1


def test_an_unprocessed_event_is_neither_listed_unmatched_nor_attached_as_history(source):
    # given: a page view stored but not processed yet
    waiting = ingest(source, [page(0, anonymousId="a-31")])
    assert unmatched_identity_list() == []

    # when: another batch links its anonymousId to a lead first
    process(source, [identify(5, anonymousId="a-31", traits={"email": "cy@acme.com"})])

    # then: history attachment leaves it to its own batch, which resolves it through the new identity
    assert Event.objects.get(name="Pricing").lead is None
    assert events_process_batch(batch_id=waiting) == 1
    assert Event.objects.get(name="Pricing").lead == Lead.objects.get(email="cy@acme.com")
    assert unmatched_identity_list() == []


def test_alias_links_a_previous_id_and_attaches_its_history(source):
    # given: a known user and, separately, anonymous activity under another id
    process(source, [identify(0, userId="u-2", traits={"email": "raj@acme.com"})])
    process(source, [page(5, anonymousId="a-2"), page(6, anonymousId="a-2")])

    # when
    process(source, [{"type": "alias", "previousId": "a-2", "userId": "u-2", "timestamp": at(7)}])
    process(source, [page(8, anonymousId="a-2")])

    # then
    lead = Lead.objects.get()
    assert Identity.objects.get(value="a-2").lead == lead
    assert Event.objects.filter(lead=lead).count() == 5
    assert not LeadMerge.objects.exists()


def test_two_leads_found_to_be_one_person_merge_keeping_all_history(source, alice):
    # given: a product user without email (older) and a marketing lead with one
    process(source, [identify(0, userId="u-3", traits={"title": "Data Engineer"}), track("Job Run", 1, userId="u-3")])
    process(source, [identify(2, anonymousId="a-3", traits={"email": "eve@acme.com", "firstName": "Eve"})])
    product_lead = Lead.objects.get(identities__value="u-3")
    marketing_lead = Lead.objects.get(email="eve@acme.com")
    StageChange.objects.create(lead=product_lead, from_stage=Stage.NEW, to_stage=Stage.PQL, changed_at=timezone.now())
    Outcome.objects.create(lead=product_lead, kind=OutcomeKind.MEETING, occurred_at=timezone.now())
    Lead.objects.filter(pk=product_lead.pk).update(owner=alice)

    # when: the product user tells us their email
    process(source, [identify(3, userId="u-3", traits={"email": "eve@acme.com"})])

    # then: the email-bearing lead survives; nothing is deleted
    assert Lead.objects.count() == 2
    product_lead.refresh_from_db()
    marketing_lead.refresh_from_db()
    assert product_lead.merged_into == marketing_lead
    assert marketing_lead.merged_into is None
    assert (marketing_lead.first_name, marketing_lead.title) == ("Eve", "Data Engineer")
    assert set(marketing_lead.identities.values_list("value", flat=True)) == {"u-3", "a-3", "eve@acme.com"}
    assert not product_lead.identities.exists()
    assert Event.objects.filter(lead=marketing_lead).count() == 4
    assert marketing_lead.stage_changes.count() == 1
    assert marketing_lead.outcomes.count() == 1
    assert marketing_lead.first_seen_at == T0
    merge = LeadMerge.objects.get()
    assert (merge.survivor, merge.merged) == (marketing_lead, product_lead)
    assert merge.snapshot["title"] == "Data Engineer"
    assert merge.snapshot["owner_id"] == alice.pk


def test_alias_between_two_leads_without_email_keeps_the_older_one(source):
    # given
    process(source, [identify(0, userId="old-id")])
    process(source, [identify(1, userId="new-id")])
    older = Lead.objects.get(identities__value="old-id")
    newer = Lead.objects.get(identities__value="new-id")

    # when
    process(source, [{"type": "alias", "previousId": "old-id", "userId": "new-id", "timestamp": at(2)}])

    # then
    newer.refresh_from_db()
    assert newer.merged_into == older
    assert set(older.identities.values_list("value", flat=True)) == {"old-id", "new-id"}
    assert LeadMerge.objects.filter(survivor=older, merged=newer).exists()


def test_events_of_a_merged_lead_resolve_to_the_survivor_afterwards(source):
    # given
    process(source, [identify(0, userId="u-4"), identify(1, userId="u-5", traits={"email": "li@acme.com"})])
    process(source, [{"type": "alias", "previousId": "u-4", "userId": "u-5", "timestamp": at(2)}])
    survivor = Lead.objects.get(email="li@acme.com")

    # when
    process(source, [track("Job Run", 3, userId="u-4")])

    # then
    assert Event.objects.get(event="Job Run").lead == survivor


@pytest.mark.parametrize("email", ["sam@gmail.com", "sam@yahoo.com", "sam@outlook.com", "sam@gmx.de"])
def test_a_free_mail_address_never_matches_or_creates_an_account(source, email):
    # given: even an account claiming the free-mail domain
    Account.objects.create(name="Google", domain="gmail.com")

    # when
    process(source, [identify(0, userId="u-6", traits={"email": email})])

    # then
    assert Lead.objects.get().account is None
    assert Account.objects.count() == 1


@pytest.mark.parametrize("email", ["stu@mit.edu", "stu@ox.ac.uk", "stu@unsw.edu.au"])
def test_a_student_address_never_creates_an_account(source, email):
    # when
    process(source, [identify(0, userId="u-7", traits={"email": email})])

    # then
    assert Lead.objects.get().account is None
    assert not Account.objects.exists()


def test_a_business_address_matches_the_account_with_that_domain(source):
    # given
    account = Account.objects.create(name="Acme Inc.", domain="acme.com")

    # when
    process(source, [identify(0, userId="u-8", traits={"email": "joe@acme.com"}), track("Job Run", 1, userId="u-8")])

    # then
    assert Lead.objects.get().account == account
    assert Event.objects.get(event="Job Run").account == account
    assert Account.objects.count() == 1


def test_a_business_address_creates_its_account_from_the_domain(source):
    # when
    process(source, [identify(0, userId="u-9", traits={"email": "joe@northwind-traders.io"})])

    # then
    account = Lead.objects.get().account
    assert (account.domain, account.name, account.segment) == ("northwind-traders.io", "Northwind Traders", "unknown")


def test_group_creates_an_account_with_its_traits_and_links_the_user(source):
    # given
    process(source, [identify(0, userId="u-10", traits={"email": "pat@gmail.com"})])
    traits = {
        "name": "Initech",
        "website": "https://www.initech.com/about",
        "industry": "Software",
        "employees": "1,200",
        "plan": "trial",
        "seats": 5,
        "owner": "someone",
        "tier": "gold",
    }

    # when
    process(source, [group("g-1", traits, 1, userId="u-10")])

    # then
    account = Account.objects.get()
    assert (account.group_id, account.name, account.domain, account.industry) == (
        "g-1",
        "Initech",
        "initech.com",
        "Software",
    )
    assert (account.employee_count, account.segment, account.plan, account.seats) == (
        1200,
        Segment.ENTERPRISE,
        "trial",
        5,
    )
    assert account.owner is None
    assert account.traits == {"owner": "someone", "tier": "gold"}
    assert Lead.objects.get().account == account
    assert Event.objects.get(type="group").account == account


def test_group_updates_the_account_and_finds_it_by_domain_first_time(source):
    # given: an account known from a lead's email domain
    existing = Account.objects.create(name="Acme", domain="acme.com")

    # when
    process(source, [group("g-2", {"domain": "acme.com", "employees": 50}, 0, anonymousId="a-x")])
    process(source, [group("g-2", {"employees": 400, "plan": "team"}, 1, anonymousId="a-x")])

    # then
    existing.refresh_from_db()
    assert (existing.group_id, existing.employee_count, existing.segment, existing.plan) == (
        "g-2",
        400,
        Segment.MID_MARKET,
        "team",
    )
    assert Account.objects.count() == 1


def test_a_product_event_takes_its_account_from_context_group_id(source):
    # given
    process(source, [group("g-3", {"name": "Hooli", "domain": "hooli.com"}, 0, userId="u-11")])

    # when
    process(source, [track("Job Run", 1, userId="someone-else", context={"groupId": "g-3"})])

    # then
    assert Event.objects.get(event="Job Run").account == Account.objects.get(group_id="g-3")


PROTECTED_TRAITS = {
    "owner": "bob",
    "owner_id": 1,
    "score": 100,
    "stage": "sql",
    "sla": "1h",
    "assigned_to": "bob",
    "stage_changed_at": "2020-01-01T00:00:00Z",
    "is_unsubscribed": True,
    "merged_into": 1,
    "account": 1,
    "account_id": 1,
    "id": 999,
    "crm_id": "0031x",
}


def test_protected_trait_names_never_set_lead_fields(source, alice):
    # given: a lead owned by alice
    process(source, [identify(0, userId="u-12", traits={"email": "max@gmail.com"})])
    lead = Lead.objects.get()
    Lead.objects.filter(pk=lead.pk).update(owner=alice)
    before = lead.stage_changed_at

    # when
    process(source, [identify(1, userId="u-12", traits=PROTECTED_TRAITS)])

    # then
    lead.refresh_from_db()
    assert lead.owner == alice
    assert lead.stage == Stage.NEW
    assert lead.stage_changed_at == before
    assert lead.is_unsubscribed is False
    assert lead.merged_into is None
    assert lead.account is None
    assert lead.crm_id is None
    assert Lead.objects.filter(pk=999).count() == 0
    assert lead.traits == PROTECTED_TRAITS


def test_an_unsubscribed_event_unsubscribes_the_lead(source):
    # given
    process(source, [identify(0, userId="u-13", traits={"email": "una@acme.com"})])

    # when
    process(source, [track("Unsubscribed", 1, userId="u-13")])

    # then
    assert Lead.objects.get().is_unsubscribed is True


def test_an_email_in_context_traits_identifies_any_message(source):
    # when
    process(source, [track("Form Submitted", 0, anonymousId="a-14", context={"traits": {"email": "Form@Acme.com"}})])

    # then
    lead = Lead.objects.get()
    assert lead.email == "form@acme.com"
    assert Event.objects.get().lead == lead


def test_a_new_lead_takes_its_campaign_from_the_event_context(source):
    # given
    context = {"campaign": {"name": "Q3 Data Webinar", "medium": "webinar", "source": "linkedin"}}

    # when
    process(source, [identify(0, userId="u-15", traits={"email": "cam@acme.com"}, context=context)])

    # then
    lead = Lead.objects.get()
    assert lead.campaign == Campaign.objects.get(name="Q3 Data Webinar")
    assert lead.campaign.type == "webinar"


def test_processing_a_batch_twice_is_harmless(source):
    # given
    batch_id = process(source, [identify(0, userId="u-16", traits={"email": "two@acme.com"}), page(1, userId="u-16")])
    processed_at = set(Event.objects.values_list("processed_at", flat=True))

    # when
    processed_again = events_process_batch(batch_id=batch_id)

    # then
    assert processed_again == 0
    assert set(Event.objects.values_list("processed_at", flat=True)) == processed_at
    assert (Lead.objects.count(), Identity.objects.count(), Account.objects.count()) == (1, 2, 1)


@pytest.mark.parametrize("bulk_sql", [True, False], ids=["postgresql-unnest", "portable"])
def test_a_mixed_batch_resolves_the_same_with_either_write_path(source, monkeypatch, bulk_sql):
    # given
    if bulk_sql and connection.vendor != "postgresql":
        pytest.skip("the unnest() path is PostgreSQL only")
    monkeypatch.setattr(bulk_sql_module, "is_postgresql", lambda: bulk_sql)
    process(source, [page(0, anonymousId="a-20")])
    messages = [
        identify(1, userId="u-20", anonymousId="a-20", traits={"email": "mia@globex.com"}),
        group("g-20", {"name": "Globex", "domain": "globex.com", "employees": 20}, 2, userId="u-20"),
        track("Job Run", 3, userId="u-20", context={"groupId": "g-20"}),
        page(4, anonymousId="a-21"),
    ]

    # when
    processed = events_process_batch(batch_id=ingest(source, messages))

    # then
    lead = Lead.objects.get()
    assert processed == 4
    assert lead.account.group_id == "g-20"
    assert Event.objects.filter(lead=lead).count() == 4
    assert Event.objects.filter(account=lead.account).count() == 3
    assert Event.objects.filter(processed_at__isnull=True).count() == 0
    assert Event.objects.get(anonymous_id="a-21").lead is None


@pytest.mark.parametrize(("minutes_later", "expected_minutes"), [(2, 0), (10, 10)])
def test_last_seen_is_kept_to_five_minutes_to_spare_rewriting_busy_leads(source, minutes_later, expected_minutes):
    # given
    process(source, [identify(0, userId="u-30", traits={"email": "busy@acme.com"})])

    # when
    process(source, [track("Job Run", minutes_later, userId="u-30")])

    # then
    assert Lead.objects.get().last_seen_at == T0 + timedelta(minutes=expected_minutes)


def test_a_later_batch_of_a_new_person_reuses_the_lead(source):
    # given: two batches stored before either is processed
    first = ingest(source, [identify(0, userId="u-31", traits={"email": "twice@acme.com"})])
    second = ingest(source, [identify(1, userId="u-31", traits={"email": "twice@acme.com"}), page(2, userId="u-31")])

    # when
    events_process_batch(batch_id=first)
    events_process_batch(batch_id=second)

    # then
    lead = Lead.objects.get()
    assert Event.objects.filter(lead=lead).count() == 3
    assert lead.identities.count() == 2


@pytest.mark.parametrize("same_batch", [True, False], ids=["same-batch", "later-batch"])
def test_a_group_call_folds_the_groupid_account_into_the_domain_account_of_the_same_company(source, same_batch):
    # given: the company known by domain (an employee's email), then a product
    # event naming its groupId before any group call
    process(source, [identify(0, userId="u-40", traits={"email": "joe@keystone.com"})])
    product_event = track("Signed Up", 1, userId="u-40", context={"groupId": "g-40"})
    group_call = group("g-40", {"name": "Keystone Risk", "domain": "keystone.com", "employees": 300}, 2, userId="u-40")

    # when
    if same_batch:
        process(source, [product_event, group_call])
    else:
        process(source, [product_event])
        process(source, [group_call])

    # then: one account, with everything on it
    account = Account.objects.get()
    assert (account.domain, account.group_id, account.name, account.segment) == (
        "keystone.com",
        "g-40",
        "Keystone Risk",
        Segment.MID_MARKET,
    )
    assert Lead.objects.get().account == account
    assert Event.objects.filter(account=account).count() == 3
