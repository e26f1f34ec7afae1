"""CSV import of accounts and leads: good rows in, bad rows reported by line (header = line 1)."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from leads.models import Account, Campaign, Identity, Lead, Segment
from leads.services.imports import accounts_import_csv, leads_import_csv

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _csv(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


def test_it_imports_the_good_account_rows_and_reports_the_bad_ones_by_line(alice):
    # given
    path = FIXTURES / "accounts.csv"

    # when
    with path.open("rb") as file:
        result = accounts_import_csv(file=file)

    # then
    assert (result.created, result.updated) == (3, 0)
    assert [(e.line, e.column) for e in result.errors] == [(4, "domain"), (5, "employee_count"), (6, "owner")]
    assert result.ignored_columns == ["favourite_colour"]
    acme = Account.objects.get(domain="acme.com")
    assert (acme.name, acme.employee_count, acme.segment, acme.owner, acme.seats) == (
        "Acme Corp",
        250,
        Segment.MID_MARKET,
        alice,
        12,
    )
    assert Account.objects.get(domain="globex.io").employee_count == 1200
    assert Account.objects.get(domain="hooli.com").name == "Hooli\n(the search company)"
    assert not Account.objects.filter(domain__in=["initech.com", "umbrella.com"]).exists()


def test_a_row_after_a_multi_line_cell_is_reported_on_its_own_line():
    # given: the quoted name spans lines 2-3, so the bad row is on line 4
    text = 'domain,name,employee_count\nacme.com,"Acme\nCorp",10\nbad.com,Bad,ten\n'

    # when
    result = accounts_import_csv(file=_csv(text))

    # then
    assert [(e.line, e.column) for e in result.errors] == [(4, "employee_count")]


def test_it_updates_an_existing_account_without_blanking_values_it_does_not_give():
    # given
    accounts_import_csv(file=_csv("domain,name,industry,employee_count\nacme.com,Acme,Manufacturing,50\n"))

    # when
    result = accounts_import_csv(file=_csv("website,employees,industry\nhttps://ACME.com,2000,\n"))

    # then
    assert (result.created, result.updated, result.errors) == (0, 1, [])
    acme = Account.objects.get(domain="acme.com")
    assert (acme.name, acme.industry, acme.employee_count, acme.segment) == (
        "Acme",
        "Manufacturing",
        2000,
        Segment.ENTERPRISE,
    )


def test_it_imports_the_good_lead_rows_and_reports_the_bad_ones_by_line(alice):
    # given
    path = FIXTURES / "leads.csv"

    # when
    with path.open("rb") as file:
        result = leads_import_csv(file=file)

    # then
    assert (result.created, result.updated) == (3, 0)
    assert [(e.line, e.column) for e in result.errors] == [(3, "email"), (5, "email"), (7, "owner")]
    assert result.ignored_columns == ["shoe_size"]
    jane = Lead.objects.get(email="jane.doe@acme.com")
    assert (jane.first_name, jane.title, jane.owner, jane.account.domain, jane.campaign.name) == (
        "Jane",
        "VP Marketing",
        alice,
        "acme.com",
        "Webinar: Pipeline 2025",
    )
    assert Identity.objects.filter(kind="email", value="jane.doe@acme.com", lead=jane).exists()
    assert Lead.objects.get(email="raj@contractor.dev").account.domain == "globex.io"
    assert not Lead.objects.filter(email="kim@initech.com").exists()


def test_a_free_mail_lead_is_never_linked_to_an_account():
    # when
    result = leads_import_csv(file=_csv("email\nsam@gmail.com\n"))

    # then
    assert result.created == 1
    assert Lead.objects.get(email="sam@gmail.com").account is None
    assert not Account.objects.filter(domain="gmail.com").exists()


def test_a_business_lead_joins_the_account_of_its_email_domain():
    # given
    accounts_import_csv(file=_csv("domain,name\nacme.com,Acme\n"))

    # when
    leads_import_csv(file=_csv("email\nJane@ACME.com\n"))

    # then
    assert Lead.objects.get(email="jane@acme.com").account == Account.objects.get(domain="acme.com")
    assert Account.objects.count() == 1


def test_importing_the_same_lead_twice_updates_it():
    # given
    leads_import_csv(file=_csv("email,title\njane@acme.com,Engineer\n"))

    # when
    result = leads_import_csv(file=_csv("email,title,first_name\n JANE@acme.com ,Director,Jane\n"))

    # then
    assert (result.created, result.updated) == (0, 1)
    jane = Lead.objects.get()
    assert (jane.title, jane.first_name) == ("Director", "Jane")
    assert Campaign.objects.count() == 0


@pytest.mark.parametrize(
    ("importer", "text", "column"),
    [
        (accounts_import_csv, "name,industry\nAcme,Software\n", "domain"),
        (leads_import_csv, "first_name,last_name\nJane,Doe\n", "email"),
    ],
)
def test_a_file_without_the_key_column_imports_nothing_and_says_so_on_line_1(importer, text, column):
    # when
    result = importer(file=_csv(text))

    # then
    assert [(e.line, e.column) for e in result.errors] == [(1, column)]
    assert result.imported == 0
    assert not Account.objects.exists() and not Lead.objects.exists()


def test_a_value_the_database_refuses_is_reported_and_the_other_rows_are_kept():
    # given: a title longer than the column allows
    text = f"email,title\nok@acme.com,Engineer\nlong@acme.com,{'x' * 300}\n"

    # when
    result = leads_import_csv(file=_csv(text))

    # then
    assert result.created == 1
    assert [e.line for e in result.errors] == [3]
    assert Lead.objects.filter(email="ok@acme.com").exists()


def test_the_command_imports_and_lists_bad_rows_with_a_failing_exit(alice, capsys):
    # when
    with pytest.raises(CommandError, match="3 bad rows"):
        call_command("import_csv", "accounts", str(FIXTURES / "accounts.csv"))

    # then
    out, err = capsys.readouterr()
    assert "accounts: 3 created, 0 updated, 3 bad rows" in out
    assert "line 4 (domain): missing" in err
    assert Account.objects.count() == 3


def test_the_command_succeeds_quietly_on_a_clean_file(tmp_path, capsys):
    # given
    path = tmp_path / "leads.csv"
    path.write_text("email,first_name\njane@acme.com,Jane\n", encoding="utf-8")

    # when
    call_command("import_csv", "leads", str(path))

    # then
    assert "leads: 1 created, 0 updated, 0 bad rows" in capsys.readouterr().out
