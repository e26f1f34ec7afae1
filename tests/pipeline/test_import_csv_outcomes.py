"""`import_csv outcomes FILE` and the Outcome admin's import: bad rows by line with every problem,
good rows recorded (moving their leads), a second import changing nothing, unknown leads kept and
listed, and linked when a lead import brings them in."""

import io

import pytest
from django.core.management import CommandError, call_command

from leads.models import Lead, Outcome, Stage
from leads.services.roles import roles_sync
from tests.routing.world import make_account, make_lead

pytestmark = [pytest.mark.django_db]

HEADER = b"external_id,kind,occurred_at,amount,currency,lead_email,account_domain\n"
OUTCOMES = HEADER + (
    b"opp-1,closed_won,2026-03-01,12500,USD,Ann@Acme.com,\n"
    b"opp-2,won,next week,-5,dollars,not-an-email,gmail.com\n"
    b"mtg-1,meeting,2026-02-01T10:00:00Z,,,,acme.com\n"
    b"opp-3,opportunity,2026-03-02,900,EUR,zed@initech.com,\n"
)


def _import(tmp_path, data: bytes, *args) -> tuple[str, str, CommandError | None]:
    path = tmp_path / "outcomes.csv"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_csv", "outcomes", str(path), *args, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error
    return out.getvalue(), err.getvalue(), None


@pytest.fixture
def acme():
    account = make_account("acme.com")
    return {
        "account": account,
        "ann": make_lead("ann@acme.com", account=account, stage=Stage.MQL),
        "bob": make_lead("bob@acme.com", account=account, stage=Stage.NEW),
    }


def test_bad_rows_are_reported_by_line_with_every_problem_and_good_rows_are_imported(tmp_path, acme):
    # when
    out, err, error = _import(tmp_path, OUTCOMES)

    # then
    assert "outcomes: 3 created, 0 updated, 0 unchanged, 1 bad rows" in out
    problems = [line for line in err.splitlines() if line.startswith("line 3")]
    assert [line.split(":")[0] for line in problems] == [
        "line 3 (kind)",
        "line 3 (occurred_at)",
        "line 3 (amount)",
        "line 3 (currency)",
        "line 3 (lead_email)",
        "line 3 (account_domain)",
    ]
    assert error is not None and "1 bad rows" in str(error)
    assert sorted(Outcome.objects.values_list("external_id", flat=True)) == ["mtg-1", "opp-1", "opp-3"]
    stages = dict(Lead.objects.values_list("email", "stage"))
    # ann won; the account's meeting made bob (still in play) an SQL
    assert stages == {"ann@acme.com": Stage.WON, "bob@acme.com": Stage.SQL}


def test_an_unknown_lead_is_kept_listed_and_linked_when_a_lead_import_brings_it_in(tmp_path, acme):
    # given
    out, _, _ = _import(tmp_path, OUTCOMES)
    assert "line 5: kept unmatched (no lead zed@initech.com yet)" in out

    # when
    leads_file = tmp_path / "leads.csv"
    leads_file.write_bytes(b"email,first_name\nzed@initech.com,Zed\n")
    leads_out = io.StringIO()
    call_command("import_csv", "leads", str(leads_file), stdout=leads_out)

    # then
    assert "Linked 1 outcomes that named these leads before they existed." in leads_out.getvalue()
    zed = Lead.objects.get(email="zed@initech.com")
    assert Outcome.objects.get(external_id="opp-3").lead_id == zed.id
    assert zed.stage == Stage.OPPORTUNITY


def test_importing_the_same_file_twice_changes_nothing_the_second_time(tmp_path, acme):
    # given
    _import(tmp_path, OUTCOMES)
    outcomes = list(Outcome.objects.order_by("id").values())
    changes = acme["ann"].stage_changes.count()

    # when
    out, _, _ = _import(tmp_path, OUTCOMES)

    # then
    assert "0 created, 0 updated, 3 unchanged, 1 bad rows" in out
    assert list(Outcome.objects.order_by("id").values()) == outcomes
    assert acme["ann"].stage_changes.count() == changes


def test_a_changed_amount_in_a_later_file_updates_the_outcome(tmp_path, acme):
    # given
    _import(tmp_path, HEADER + b"opp-1,opportunity,2026-03-01,900,USD,ann@acme.com,\n")

    # when
    out, _, error = _import(tmp_path, HEADER + b"opp-1,opportunity,2026-03-01,1500,USD,ann@acme.com,\n")

    # then
    assert error is None and "0 created, 1 updated, 0 unchanged, 0 bad rows" in out
    assert str(Outcome.objects.get().amount) == "1500.00"


def test_a_file_may_say_when_a_closed_deal_was_opened_in_an_extra_column(tmp_path, acme):
    # when
    out, _, error = _import(
        tmp_path,
        b"external_id,kind,occurred_at,opened_at,lead_email\nopp-1,closed_lost,2026-03-01,2026-02-01,ann@acme.com\n",
    )

    # then
    assert error is None and "1 created" in out
    changes = acme["ann"].stage_changes.order_by("changed_at", "id")
    assert list(changes.values_list("to_stage", flat=True)) == [Stage.OPPORTUNITY, Stage.LOST]
    assert Outcome.objects.get().opened_at.date().isoformat() == "2026-02-01"


def test_a_dry_run_says_what_each_row_would_do_and_writes_nothing(tmp_path, acme):
    # when
    out, _, _ = _import(tmp_path, OUTCOMES, "--dry-run")

    # then
    assert "line 2: new opp-1: Closed won, ann@acme.com" in out
    assert "(dry run: nothing written)" in out
    assert not Outcome.objects.exists()
    assert Lead.objects.get(email="ann@acme.com").stage == Stage.MQL


def test_a_file_without_the_key_column_is_refused(tmp_path):
    # when
    _, err, error = _import(tmp_path, b"kind,occurred_at,lead_email\nmeeting,2026-01-01,a@b.com\n")

    # then
    assert error is not None and "line 1 (external_id): the header has no 'external_id' column" in err
    assert not Outcome.objects.exists()


# --- the admin's import -----------------------------------------------------------------------


def _upload(data: bytes) -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = "outcomes.csv"
    return upload


@pytest.fixture
def _roles():
    roles_sync()


@pytest.mark.parametrize("who", ["olivia", "admin_user_qualify"])
@pytest.mark.usefixtures("_roles")
def test_marketing_ops_and_admins_preview_then_confirm_an_outcomes_import(request, client, acme, who):
    # given
    client.force_login(request.getfixturevalue(who))

    # when
    preview = client.post("/admin/leads/outcome/import/", {"import_file": _upload(OUTCOMES), "format": "0"})
    assert not Outcome.objects.exists()
    confirmed = client.post("/admin/leads/outcome/process_import/", preview.context["confirm_form"].initial)

    # then
    rows = preview.context["preview"].rows
    assert [(row.line, row.status) for row in rows] == [(2, "new"), (3, "error"), (4, "new"), (5, "new")]
    html = preview.content.decode()
    assert '<li data-line="3" data-column="kind">' in html and "kept unmatched (no lead zed@initech.com yet)" in html
    assert confirmed.status_code == 302 and confirmed.url == "/admin/leads/outcome/"
    assert Outcome.objects.count() == 3
    assert Lead.objects.get(email="ann@acme.com").stage == Stage.WON


@pytest.mark.usefixtures("_roles")
def test_a_manager_may_read_outcomes_in_the_admin_but_not_import_them(client, charlie):
    # given
    client.force_login(charlie)

    # when
    listing = client.get("/admin/leads/outcome/")
    importing = client.get("/admin/leads/outcome/import/")

    # then
    assert listing.status_code == 200 and "Import CSV" not in listing.content.decode()
    assert importing.status_code == 403


@pytest.mark.usefixtures("_roles")
def test_the_admin_lists_the_unmatched_outcomes_apart(client, olivia, tmp_path, acme):
    # given
    _import(tmp_path, OUTCOMES)
    client.force_login(olivia)

    # when
    unmatched = client.get("/admin/leads/outcome/?matched=unmatched")
    matched = client.get("/admin/leads/outcome/?matched=matched")

    # then
    assert [o.external_id for o in unmatched.context["cl"].result_list] == ["opp-3"]
    assert sorted(o.external_id for o in matched.context["cl"].result_list) == ["mtg-1", "opp-1"]
    assert "Import CSV" in matched.content.decode()


@pytest.mark.usefixtures("_roles")
def test_adding_an_outcome_in_the_admin_records_it_through_the_service(client, admin_user_qualify, acme):
    # given
    client.force_login(admin_user_qualify)

    # when
    response = client.post(
        "/admin/leads/outcome/add/",
        {
            "external_id": "opp-7",
            "kind": "closed_lost",
            "occurred_at_0": "2026-03-01",
            "occurred_at_1": "10:00:00",
            "amount": "",
            "currency": "USD",
            "lead": acme["bob"].id,
            "lead_email": "",
            "account": "",
            "account_domain": "",
        },
    )

    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    bob = Lead.objects.get(id=acme["bob"].id)
    assert bob.stage == Stage.LOST
    assert bob.stage_changes.get().evidence["external_id"] == "opp-7"
