"""Role groups get the admin permissions their job needs, and syncing twice changes nothing."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from leads.services.roles import roles_sync
from qualify_site.roles import Role

pytestmark = [pytest.mark.django_db]


def _codenames(role: Role) -> set[str]:
    return set(Group.objects.get(name=role.value).permissions.values_list("codename", flat=True))


def test_it_gives_each_role_the_permissions_of_its_job():
    # when
    roles_sync()

    # then
    assert _codenames(Role.REP) == set()
    assert {"view_lead", "change_lead", "view_account", "change_account", "view_event"} <= _codenames(Role.MANAGER)
    assert not {"add_lead", "add_account", "change_source"} & _codenames(Role.MANAGER)
    assert {"add_lead", "change_lead", "add_account", "add_campaign", "view_rejectedmessage", "view_source"} <= (
        _codenames(Role.MARKETING_OPS)
    )
    assert not {"add_source", "change_source", "change_event", "delete_lead"} & _codenames(Role.MARKETING_OPS)
    assert {"add_source", "change_source", "delete_lead", "add_user"} <= _codenames(Role.ADMIN)


def test_syncing_again_is_a_no_op_and_undoes_drift():
    # given
    first = roles_sync()
    Group.objects.get(name=Role.REP.value).permissions.add(*Group.objects.get(name=Role.ADMIN.value).permissions.all())

    # when
    second = roles_sync()

    # then
    assert first == second
    assert _codenames(Role.REP) == set()


def test_it_creates_a_missing_role_group():
    # given
    Group.objects.filter(name=Role.MARKETING_OPS.value).delete()

    # when
    roles_sync()

    # then
    assert "view_event" in _codenames(Role.MARKETING_OPS)


def test_the_command_prints_each_group(capsys):
    # when
    call_command("sync_roles")

    # then
    out = capsys.readouterr().out
    assert all(f"{role.value}: " in out for role in Role)
