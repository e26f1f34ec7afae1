"""Scoring through the real pipeline with the default rules: the cases from the seeds."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead, Stage, StageChange
from leads.services.sources import source_create
from scoring.models import LeadScore, ScoreChange
from scoring.services import leads_rescore, rule_version_install_default
from tests.scoring.pipeline import company, days_ago, lead_by_email, page, person, send, track

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def live_rules(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return rule_version_install_default()


@pytest.fixture
def source(db):
    return source_create(name="Web", kind="marketing")[0]


def _buyer(user_id: str, email: str, group_id: str = "acme", **traits) -> list[dict]:
    """A VP of Data at a 250-person US software company."""
    return [
        *person(user_id, email, title="VP Data", country="US", **traits),
        company(user_id, group_id, name="Acme", domain="acme.io", industry="Software", employees=250, country="US"),
    ]


def test_webinar_form_and_checklist_at_a_fitting_company_make_an_mql(live_rules, source):
    # when
    send(
        source,
        [
            *_buyer("u1", "ada@acme.io"),
            track("u1", "Webinar Registered", at=days_ago(5), webinar="Data quality 101"),
            track("u1", "Form Submitted", at=days_ago(4), form_id="contact"),
            track("u1", "Asset Downloaded", at=days_ago(3), asset_type="checklist"),
        ],
    )

    # then
    lead = lead_by_email("ada@acme.io")
    assert lead.stage == Stage.MQL
    assert lead.score.is_mql and not lead.score.pql_path
    assert lead.score.version_id == live_rules.id
    change = StageChange.objects.get(lead=lead, to_stage=Stage.MQL)
    assert change.actor_label == "scoring"
    assert change.evidence["rule_version"] == live_rules.number
    fired = {rule["name"] for rule in change.evidence["rules"]}
    assert {"Webinar registered", "Form submitted", "Practical asset downloaded", "Target role"} <= fired


def test_trial_and_activation_steps_make_a_pql_with_the_path_named(live_rules, source):
    send(
        source,
        [
            *_buyer("u2", "bo@acme.io"),
            track("u2", "Trial Started", at=days_ago(6), group_id="acme"),
            track("u2", "Source Connected", at=days_ago(5), group_id="acme"),
            track("u2", "Job Run", at=days_ago(4), group_id="acme"),
            track("u2", "Results Viewed", at=days_ago(3), group_id="acme"),
        ],
    )

    lead = lead_by_email("bo@acme.io")
    assert lead.stage == Stage.PQL
    assert lead.score.pql_path == "Activation"
    assert StageChange.objects.get(lead=lead, to_stage=Stage.PQL).evidence["pql_path"] == "Activation"


def test_many_downloads_without_a_trial_is_never_a_pql(live_rules, source):
    downloads = [
        track("u3", "Asset Downloaded", at=days_ago(day), asset_type=kind)
        for day, kind in enumerate(["whitepaper", "ebook", "checklist", "case_study", "whitepaper", "ebook"] * 3)
    ]
    send(source, [*_buyer("u3", "cy@acme.io"), *downloads])

    lead = lead_by_email("cy@acme.io")
    assert lead.score.engagement > 0
    assert lead.score.pql_path == ""
    assert lead.stage in (Stage.NEW, Stage.MQL)


def test_a_buyer_who_saw_pricing_once_outranks_a_student_with_three_whitepapers(live_rules, source):
    send(source, [*_buyer("u4", "dee@acme.io"), page("u4", "/pricing", at=days_ago(1))])
    send(
        source,
        [
            *person("u5", "sam@uni.edu", title="Student"),
            *[track("u5", "Asset Downloaded", at=days_ago(d), asset_type="whitepaper") for d in (1, 2, 3)],
        ],
    )

    assert lead_by_email("dee@acme.io").score.total > lead_by_email("sam@uni.edu").score.total


def test_five_active_users_and_a_plan_limit_make_every_lead_of_the_account_a_pql(live_rules, source):
    # given five colleagues using the product this week, and one who never logged in
    messages = []
    for number in range(5):
        user = f"team{number}"
        messages += [*person(user, f"user{number}@globex.com"), company(user, "globex", name="Globex", employees=80)]
        messages.append(track(user, "Job Run", at=days_ago(2), group_id="globex"))
    messages += [*person("quiet", "quiet@globex.com"), company("quiet", "globex")]
    # when the account hits its plan limit
    messages.append(track("team0", "Plan Limit Reached", at=days_ago(0.5), group_id="globex"))
    send(source, messages)

    # then
    leads = Lead.objects.filter(account__group_id="globex").select_related("score")
    assert leads.count() == 6
    assert {lead.stage for lead in leads} == {Stage.PQL}
    assert all(lead.score.pql_path for lead in leads)


@pytest.mark.parametrize(
    ("email", "extra", "expected_drop"),
    [
        ("unsub@acme.io", [{"type": "track", "userId": "x", "event": "Unsubscribed"}], 20),
        ("someone@gmail.com", [], 25),  # -15 free mail, and no +10 for a business address
    ],
)
def test_an_unsubscribe_or_a_free_mail_address_lowers_the_score(live_rules, source, email, extra, expected_drop):
    # given a baseline lead with the same profile and activity
    send(source, [*person("base", "base@acme.io", title="Data Engineer"), page("base", "/pricing")])
    send(source, [*person("x", email, title="Data Engineer"), page("x", "/pricing"), *extra])

    baseline = lead_by_email("base@acme.io").score
    other = lead_by_email(email).score
    assert baseline.total - other.total == pytest.approx(expected_drop)


def test_decay_lowers_an_old_engagement_score_over_time(live_rules, source):
    send(source, [*_buyer("u6", "eve@acme.io"), track("u6", "Form Submitted", at=days_ago(1), form_id="f")])
    lead = lead_by_email("eve@acme.io")
    fresh = lead.score.engagement

    leads_rescore(lead_ids=[lead.id], now=timezone.now() + timedelta(days=45))

    assert LeadScore.objects.get(lead=lead).engagement < fresh


def test_a_batch_rescores_each_lead_once_not_once_per_event(live_rules, source):
    send(source, [*_buyer("u7", "fay@acme.io")])
    lead = lead_by_email("fay@acme.io")
    before = ScoreChange.objects.filter(lead=lead).count()

    send(source, [page("u7", f"/docs/page-{n}", at=days_ago(n / 10)) for n in range(20)])

    assert ScoreChange.objects.filter(lead=lead).count() == before + 1


def test_rescoring_without_a_change_adds_no_history(live_rules, source):
    send(source, [*_buyer("u8", "gus@acme.io")])
    lead = lead_by_email("gus@acme.io")
    before = ScoreChange.objects.filter(lead=lead).count()

    leads_rescore(lead_ids=[lead.id])

    assert ScoreChange.objects.filter(lead=lead).count() == before


def test_a_score_drop_flags_a_qualified_lead_but_does_not_unqualify_it(live_rules, source):
    # given an MQL on engagement that will expire
    send(
        source,
        [
            *_buyer("u9", "hal@acme.io"),
            track("u9", "Demo Requested", at=days_ago(1)),
        ],
    )
    lead = lead_by_email("hal@acme.io")
    assert lead.stage == Stage.MQL

    # when the engagement has long expired
    leads_rescore(lead_ids=[lead.id], now=timezone.now() + timedelta(days=200))

    # then it keeps its stage, flagged
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    assert LeadScore.objects.get(lead=lead).is_below_threshold_since_qualification
    assert not StageChange.objects.filter(lead=lead, from_stage=Stage.MQL).exists()


def test_pql_outranks_an_existing_mql(live_rules, source):
    send(source, [*_buyer("u10", "ivy@acme.io"), track("u10", "Demo Requested", at=days_ago(1))])
    assert lead_by_email("ivy@acme.io").stage == Stage.MQL

    send(source, [track("u10", "Plan Limit Reached", at=days_ago(0.1), group_id="acme")])

    lead = lead_by_email("ivy@acme.io")
    assert lead.stage == Stage.PQL
    assert list(lead.stage_changes.values_list("from_stage", "to_stage")) == [("mql", "pql"), ("new", "mql")]


def test_seat_growth_counts_from_the_seats_before_the_window(live_rules, source):
    # given an account with 10 seats two months ago, 14 now
    send(
        source,
        [
            *person("s1", "sue@initech.io"),
            {**company("s1", "initech", name="Initech", seats=10), "timestamp": days_ago(60)},
        ],
    )
    send(source, [{**company("s1", "initech", seats=14), "timestamp": days_ago(2)}])

    # then the 4 seats added within 30 days make it a PQL through seat growth
    lead = lead_by_email("sue@initech.io")
    assert lead.score.pql_path == "Seat growth"


def test_ingesting_over_http_scores_the_lead_through_the_worker_task(
    live_rules, source_with_key, client, django_capture_on_commit_callbacks
):
    # given
    import base64
    import json

    _, write_key = source_with_key
    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    batch = [*_buyer("u11", "jo@acme.io"), track("u11", "Demo Requested", at=days_ago(1))]
    for number, message in enumerate(batch):
        message["messageId"] = f"m{number}"

    # when the batch arrives and its processing task runs (eagerly, on commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/v1/batch", json.dumps({"batch": batch}), content_type="application/json", HTTP_AUTHORIZATION=auth
        )

    # then
    assert response.status_code == 200
    lead = lead_by_email("jo@acme.io")
    assert lead.stage == Stage.MQL
    assert lead.score.version_id == live_rules.id


def test_a_burst_of_batches_touching_one_lead_rescores_it_once(live_rules, source):
    # given three batches for the same lead, processed but not yet scored
    from leads.services.identity import events_process_batch
    from leads.services.ingest import batch_ingest
    from scoring.models import PendingRescore
    from scoring.services import leads_mark_for_rescore, pending_rescore_drain

    send(source, [*_buyer("u12", "kim@acme.io")])
    lead = lead_by_email("kim@acme.io")
    before = ScoreChange.objects.filter(lead=lead).count()
    for day in (3, 2, 1):
        message = {**page("u12", "/pricing", at=days_ago(day)), "messageId": f"burst-{day}"}
        result = batch_ingest(source=source, messages=[message], envelope={}, received_at=timezone.now())
        events_process_batch(batch_id=result.batch_id)
        leads_mark_for_rescore(batch_id=result.batch_id)
    assert PendingRescore.objects.filter(lead=lead).count() == 1

    # when the drain runs
    drained = pending_rescore_drain()

    # then the lead was scored once, with all three visits
    assert drained.scored == 1
    assert ScoreChange.objects.filter(lead=lead).count() == before + 1
    assert not PendingRescore.objects.exists()
    assert LeadScore.objects.get(lead=lead).explanation["hits"]


def test_the_periodic_refresh_rescores_leads_whose_score_may_have_decayed(
    live_rules, source, django_capture_on_commit_callbacks
):
    # given: a lead whose score was last checked 7 hours ago, and one checked just now
    from scoring.tasks import scores_refresh_stale_task

    send(source, [*_buyer("u20", "ivy@acme.io"), track("u20", "Form Submitted", at=days_ago(40), form_id="f")])
    send(source, [*_buyer("u21", "jon@acme.io")])
    ivy, jon = lead_by_email("ivy@acme.io"), lead_by_email("jon@acme.io")
    checked = timezone.now() - timedelta(hours=7)
    LeadScore.objects.filter(lead=ivy).update(computed_at=checked, engagement=999)
    recent = LeadScore.objects.get(lead=jon).computed_at

    # when: the beat task runs (its rescore tasks run on commit)
    with django_capture_on_commit_callbacks(execute=True):
        refreshed = scores_refresh_stale_task()

    # then: only the stale score was recomputed, from the events, not kept as it was
    assert refreshed == 1
    score = LeadScore.objects.get(lead=ivy)
    assert score.computed_at > checked and score.engagement < 999
    assert LeadScore.objects.get(lead=jon).computed_at == recent


def test_a_publish_rescores_in_bounded_slices_and_each_score_names_its_version_until_then(live_rules, source):
    # given: five scored leads and a newly published clone of the live version
    from scoring.models import RuleVersion
    from scoring.services import rescore_progress_update, rescore_range, rescore_ranges, rule_version_clone
    from scoring.services.versions import rule_version_publish

    for n in range(5):
        send(source, [*_buyer(f"s{n}", f"s{n}@acme.io")])
    old = live_rules.id
    new = rule_version_clone(version=live_rules)
    rule_version_publish(version_id=new.id)  # outside on-commit capture: the slices run by hand below

    # when: the first slice of two leads runs
    slices = rescore_ranges(chunk_size=2)
    rescore_range(version_id=new.id, first_id=slices[0][0], last_id=slices[0][1])

    # then: progress shows 2 of 5; the other leads' scores still say the old version produced them
    version = RuleVersion.objects.get(id=new.id)
    assert len(slices) == 3
    assert (version.rescore_done, version.rescore_total, version.rescore_finished_at) == (2, 5, None)
    assert sorted(LeadScore.objects.values_list("version_id", flat=True)) == sorted([new.id] * 2 + [old] * 3)

    # and when the other slices run, the rescore is finished
    for first_id, last_id in slices[1:]:
        rescore_range(version_id=new.id, first_id=first_id, last_id=last_id)
    rescore_progress_update(version_id=new.id)
    version.refresh_from_db()
    assert version.rescore_done == 5 and version.rescore_finished_at is not None
