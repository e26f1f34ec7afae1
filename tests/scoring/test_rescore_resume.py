"""A full rescore after publishing finishes even when its tasks were lost (Redis down at
publish, slices lost with a worker): the periodic drain resumes a rescore that stopped
moving, once, over the leads the version has not scored yet."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from leads.models import Lead
from pipeline.tasks import pending_rescore_drain_task, rescore_all_task
from scoring.models import LeadScore, RuleVersion
from scoring.services import (
    rescore_range,
    rescore_ranges,
    rescore_stalled_claim,
    rule_version_clone,
    rule_version_install_default,
    rule_version_publish,
)
from scoring.services.rescoring import RESCORE_STALLED_AFTER
from tests.broker_utils import redis_unreachable

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def live(django_capture_on_commit_callbacks):
    """The default rules, live, and six leads they scored."""
    for n in range(6):
        Lead.objects.create(email=f"p{n}@acme.io")
    with django_capture_on_commit_callbacks(execute=True):
        return rule_version_install_default()


@pytest.fixture
def published_while_redis_was_down(live, django_capture_on_commit_callbacks):
    """A new version published while Redis was down: its rescore was never started."""
    draft = rule_version_clone(version=live)
    with redis_unreachable(), django_capture_on_commit_callbacks(execute=True):
        version = rule_version_publish(version_id=draft.id)
    return version


def _scored_by(version: RuleVersion) -> int:
    return LeadScore.objects.filter(version=version).count()


def test_the_publish_commits_with_redis_down_and_its_rescore_waits(live, published_while_redis_was_down):
    # then
    version = published_while_redis_was_down
    version.refresh_from_db()
    assert version.status == "published" and version.rescore_finished_at is None
    assert _scored_by(version) == 0 and _scored_by(live) == 6


def test_the_periodic_drain_resumes_a_rescore_that_stopped_moving_and_finishes_it(published_while_redis_was_down):
    # given
    version = published_while_redis_was_down
    published_at = version.rescore_started_at

    # when: the drain runs every minute once Redis is back
    with time_machine.travel(published_at + RESCORE_STALLED_AFTER - timedelta(minutes=1)):
        pending_rescore_drain_task.apply()
    scored_before_it_stalled = _scored_by(version)
    with time_machine.travel(published_at + RESCORE_STALLED_AFTER + timedelta(minutes=1)):
        pending_rescore_drain_task.apply()

    # then
    version.refresh_from_db()
    assert scored_before_it_stalled == 0
    assert _scored_by(version) == 6
    assert version.rescore_done == 6 and version.rescore_finished_at is not None


def test_a_rescore_whose_slices_keep_finishing_is_left_alone(published_while_redis_was_down):
    # given: a slice of two leads finished eight minutes after the publish
    version = published_while_redis_was_down
    published_at = version.rescore_started_at
    first_id, last_id = rescore_ranges(chunk_size=2)[0]
    with time_machine.travel(published_at + timedelta(minutes=8)):
        rescore_range(version_id=version.id, first_id=first_id, last_id=last_id)

    # when: eleven minutes after the publish, three after that slice
    with time_machine.travel(published_at + timedelta(minutes=11)):
        claimed = rescore_stalled_claim()

    # then
    assert claimed is None
    assert _scored_by(version) == 2


def test_a_stalled_rescore_is_claimed_by_one_drain_and_again_only_if_that_resume_stalls_too(
    published_while_redis_was_down,
):
    # given
    version = published_while_redis_was_down
    stalled = version.rescore_started_at + RESCORE_STALLED_AFTER + timedelta(minutes=1)

    # when: two beat drains at the same minute, then one after the resume was lost as well
    with time_machine.travel(stalled):
        first, second = rescore_stalled_claim(), rescore_stalled_claim()
    with time_machine.travel(stalled + RESCORE_STALLED_AFTER + timedelta(minutes=1)):
        third = rescore_stalled_claim()

    # then
    assert (first, second, third) == (version.id, None, version.id)


def test_a_resumed_rescore_scores_only_the_leads_the_version_has_not_scored_yet(published_while_redis_was_down):
    # given: a slice of two leads was done before the rest was lost
    version = published_while_redis_was_down
    first_id, last_id = rescore_ranges(chunk_size=2)[0]
    rescore_range(version_id=version.id, first_id=first_id, last_id=last_id)

    # when
    remaining = rescore_ranges(chunk_size=2, version_id=version.id)

    # then
    leads = list(Lead.objects.order_by("id").values_list("id", flat=True))
    assert remaining == [(leads[2], leads[3]), (leads[4], leads[5])]


def test_a_rescore_with_no_lead_left_finishes_even_below_its_total(published_while_redis_was_down):
    # given: every lead scored by the version, and a total no longer reachable (a lead merged since the publish)
    version = published_while_redis_was_down
    for first_id, last_id in rescore_ranges():
        rescore_range(version_id=version.id, first_id=first_id, last_id=last_id)
    RuleVersion.objects.filter(id=version.id).update(rescore_total=7, rescore_finished_at=None)

    # when: the resumed rescore finds nothing left
    fanned_out = rescore_all_task.apply(args=[version.id]).get()

    # then: finished, rather than resumed forever
    version.refresh_from_db()
    assert fanned_out == 0
    assert version.rescore_finished_at is not None
    with time_machine.travel(timezone.now() + RESCORE_STALLED_AFTER * 2):
        assert rescore_stalled_claim() is None
