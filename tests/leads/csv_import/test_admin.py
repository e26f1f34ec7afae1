"""The admin's CSV import: upload, a preview of every row (nothing written), then confirm; marketing ops and admins."""

import io

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group

from leads.models import Account, Campaign, Lead
from leads.services.roles import roles_sync
from qualify_site.roles import Role

pytestmark = [pytest.mark.django_db]

ACCOUNTS = (
    b"domain;name;employee_count;owner\n"
    b"acme.com;Acme;12;\n"
    b"gmail.com;Personal;lots;nobody\n"
    b"globex.com;Caf\xe9 Globex;3;\n"
    b"initech.com;Initech;40;\n"
)


@pytest.fixture(autouse=True)
def _roles(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    roles_sync()


@pytest.fixture(params=["olivia", "admin_user_qualify"])
def importer(request, client):
    """Marketing ops and admins: the people who import."""
    client.force_login(request.getfixturevalue(request.param))
    return client


@pytest.fixture
def staff_rep(django_user_model):
    """A sales rep who was given admin access: still not someone who imports."""
    user = django_user_model.objects.create_user(username="dev", password="pw-dev", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.REP.value))
    return user


def _upload(data: bytes, name: str = "file.csv") -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def _preview(client, model: str, data: bytes, **extra):
    return client.post(f"/admin/leads/{model}/import/", {"import_file": _upload(data), "format": "0", **extra})


def _confirm(client, model: str, preview):
    return client.post(f"/admin/leads/{model}/process_import/", preview.context["confirm_form"].initial)


def test_the_preview_lists_every_row_by_line_with_all_its_problems_and_writes_nothing(importer):
    # given
    Account.objects.create(domain="initech.com", name="Initech", employee_count=40)

    # when
    response = _preview(importer, "account", ACCOUNTS)

    # then
    assert response.status_code == 200
    preview = response.context["preview"]
    assert [(row.line, row.status) for row in preview.rows] == [
        (2, "new"),
        (3, "error"),
        (4, "error"),
        (5, "skipped"),
    ]
    assert [(e.line, e.column) for e in preview.rows[1].problems] == [
        (3, "domain"),
        (3, "employee_count"),
        (3, "owner"),
    ]
    html = response.content.decode()
    assert '<li data-line="4" data-column="name">' in html and "byte 0xE9 is not UTF-8" in html
    assert "1 new, 0 updated, 1 unchanged (skipped), 2 bad rows." in html
    assert "Confirm import" in html
    assert list(Account.objects.values_list("domain", flat=True)) == ["initech.com"]


def test_confirming_imports_the_good_rows_and_leaves_the_bad_ones_out(importer):
    # given
    preview = _preview(importer, "account", ACCOUNTS)

    # when
    response = _confirm(importer, "account", preview)

    # then
    assert response.status_code == 302 and response.url == "/admin/leads/account/"
    assert sorted(Account.objects.values_list("domain", flat=True)) == ["acme.com", "initech.com"]
    assert LogEntry.objects.filter(object_repr="Acme").exists()
    message = str(list(importer.get(response.url).context["messages"])[0])
    assert (
        message == "Import finished: 2 created, 0 updated, 0 unchanged, 2 bad rows. Left out, as previewed: line 3, 4."
    )


def test_confirming_twice_imports_once_and_says_the_file_is_gone(importer):
    # given
    preview = _preview(importer, "account", b"domain\nacme.com\n")
    _confirm(importer, "account", preview)

    # when
    response = _confirm(importer, "account", preview)

    # then
    assert response.status_code == 302 and response.url == "/admin/leads/account/import/"
    assert Account.objects.count() == 1


def test_a_file_with_only_bad_rows_offers_no_confirmation(importer):
    # when
    response = _preview(importer, "account", b"domain\ngmail.com\n")

    # then
    assert response.context["confirm_form"] is None
    assert "Confirm import" not in response.content.decode()


@pytest.mark.parametrize(("ticked", "campaigns"), [(False, []), (True, ["Spring Webinar"])])
def test_the_lead_import_creates_campaigns_only_when_the_box_is_ticked(importer, ticked, campaigns):
    # given
    data = b"email\tcampaign\njane@acme.com\tSpring Webinar\nraj@globex.com\t\n"
    extra = {"create_campaigns": "on"} if ticked else {}
    preview = _preview(importer, "lead", data, **extra)

    # when
    _confirm(importer, "lead", preview)

    # then
    assert list(Campaign.objects.values_list("name", flat=True)) == campaigns
    assert Lead.objects.filter(email="jane@acme.com").exists() is ticked
    assert Lead.objects.filter(email="raj@globex.com").exists()


def test_the_account_import_has_no_campaign_box(importer):
    # when
    response = importer.get("/admin/leads/account/import/")

    # then
    assert response.status_code == 200
    assert "create_campaigns" not in response.context["form"].fields


@pytest.mark.parametrize(
    ("who", "refused"),
    [
        ("charlie", 403),
        # A rep never gets past the admin's door (qualify_site.admin_site): sent to sign in.
        ("staff_rep", 302),
    ],
)
@pytest.mark.parametrize("model", ["account", "lead"])
def test_managers_and_reps_cannot_import(client, request, who, refused, model):
    # given
    client.force_login(request.getfixturevalue(who))
    forged = {"import_file_name": "x", "original_file_name": "x.csv", "format": "0", "resource": "0"}

    # when
    responses = [
        client.get(f"/admin/leads/{model}/import/"),
        _preview(client, model, b"domain,email\nacme.com,jane@acme.com\n"),
        client.post(f"/admin/leads/{model}/process_import/", forged),
    ]

    # then
    assert [response.status_code for response in responses] == [refused] * 3
    assert not Account.objects.exists() and not Lead.objects.exists()


@pytest.mark.parametrize(("who", "shown"), [("olivia", True), ("admin_user_qualify", True), ("charlie", False)])
def test_the_import_link_shows_only_to_those_who_may_import(client, request, who, shown):
    # given
    client.force_login(request.getfixturevalue(who))

    # when
    html = client.get("/admin/leads/lead/").content.decode()

    # then
    assert ('href="/admin/leads/lead/import/"' in html) is shown


@pytest.mark.parametrize(("who", "owner_set"), [("olivia", False), ("admin_user_qualify", True)])
def test_only_admins_set_owners_by_import_as_in_the_admin_and_the_api(client, request, alice, who, owner_set):
    # given: owners decide who works an account, which is sales management's call (routing.services.ownership)
    client.force_login(request.getfixturevalue(who))
    preview = _preview(client, "account", b"domain,name,owner\nacme.com,Acme,alice\n")

    # when
    if preview.context["confirm_form"] is not None:
        _confirm(client, "account", preview)

    # then
    row = preview.context["preview"].rows[0]
    if owner_set:
        assert row.status == "new"
        assert Account.objects.get(domain="acme.com").owner == alice
    else:
        assert row.status == "error"
        assert [(problem.column, problem.message) for problem in row.problems] == [
            ("owner", "only admins set owners by import; leave the column empty or ask an admin")
        ]
        assert not Account.objects.exists()
