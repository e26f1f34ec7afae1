"""The dead-letter admin: admins see set-aside batches with their error and replay them; other roles do not."""

import pytest
from django.contrib.auth.models import Permission

from leads.models import DeadLetter, Event
from leads.services.roles import roles_sync
from pipeline.tasks import events_process_task
from tests.leads.poison_utils import batch_repair, poison_batch

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

CHANGELIST = "/admin/leads/deadletter/"


@pytest.fixture(autouse=True)
def _roles():
    roles_sync()


@pytest.fixture
def letter(source_with_key):
    batch_id = poison_batch(source_with_key[0], "poison-1")
    events_process_task.delay(batch_id).get()
    return DeadLetter.objects.get()


def replay(client, letter):
    return client.post(CHANGELIST, {"action": "replay", "_selected_action": [letter.pk]}, follow=True)


def test_an_admin_sees_set_aside_batches_with_their_error_and_traceback(client, admin_user_qualify, letter):
    # given
    client.force_login(admin_user_qualify)

    # when
    listed = client.get(CHANGELIST)
    detail = client.get(f"{CHANGELIST}{letter.pk}/change/")

    # then
    assert listed.status_code == detail.status_code == 200
    assert str(letter.batch_id) in listed.content.decode()
    assert "year 10K" in detail.content.decode()
    assert "Traceback" in detail.content.decode()


def test_an_admin_replays_a_batch_from_the_admin_after_a_fix(
    client, admin_user_qualify, letter, django_capture_on_commit_callbacks
):
    # given
    client.force_login(admin_user_qualify)
    batch_repair(str(letter.batch_id))

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = replay(client, letter)

    # then
    assert response.status_code == 200
    assert "1 of 1 batches sent for processing again" in response.content.decode()
    letter.refresh_from_db()
    assert (letter.is_set_aside, letter.replayed_by) == (False, admin_user_qualify)
    assert not Event.objects.filter(batch_id=letter.batch_id, processed_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("persona", "status"),
    # A rep is sent to the login page: the admin is not theirs at all.
    [("alice", 302), ("charlie", 403), ("olivia", 403)],
)
def test_other_roles_neither_see_nor_replay_set_aside_batches(
    client, request, persona, status, letter, django_capture_on_commit_callbacks
):
    # given: even a group given the dead-letter permissions by hand
    user = request.getfixturevalue(persona)
    for group in user.groups.all():
        group.permissions.add(*Permission.objects.filter(content_type__model="deadletter"))
    client.force_login(user)

    # when
    listed = client.get(CHANGELIST)
    detail = client.get(f"{CHANGELIST}{letter.pk}/change/")
    index = client.get("/admin/")
    with django_capture_on_commit_callbacks() as callbacks:
        replayed = client.post(CHANGELIST, {"action": "replay", "_selected_action": [letter.pk]})

    # then
    assert listed.status_code == detail.status_code == replayed.status_code == status
    assert CHANGELIST not in index.content.decode()
    assert callbacks == []
    letter.refresh_from_db()
    assert (letter.is_set_aside, letter.replayed_at) == (True, None)
