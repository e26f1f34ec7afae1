"""CSV import of accounts and leads: good rows in, bad rows reported with every problem and their line (header = 1)."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from leads.models import Account, Campaign, CampaignType, Identity, Lead, Segment
from leads.services.imports import RowStatus, csv_import

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _import(kind: str, text: str, **options):
    return csv_import(kind=kind, data=text.encode("utf-8"), **options)


def _problems(result) -> list[tuple[int, str]]:
    return [(e.line, e.column) for e in result.errors]


def _counts() -> tuple[int, ...]:
    return (Account.objects.count(), Lead.objects.count(), Campaign.objects.count(), Identity.objects.count())


def test_it_imports_the_good_account_rows_and_reports_the_bad_ones_by_line(alice):
    # when
    result = csv_import(kind="accounts", data=(FIXTURES / "accounts.csv").read_bytes())

    # then
    assert (result.created, result.updated, result.bad_rows) == (3, 0, 3)
    assert _problems(result) == [(4, "domain"), (5, "employee_count"), (6, "owner")]
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
    result = _import("accounts", text)

    # then
    assert _problems(result) == [(4, "employee_count")]


def test_it_updates_an_existing_account_without_blanking_values_it_does_not_give():
    # given
    _import("accounts", "domain,name,industry,employee_count\nacme.com,Acme,Manufacturing,50\n")

    # when
    result = _import("accounts", "website,employees,industry\nhttps://ACME.com,2000,\n")

    # then
    assert (result.created, result.updated, result.errors) == (0, 1, [])
    acme = Account.objects.get(domain="acme.com")
    assert (acme.name, acme.industry, acme.employee_count, acme.segment) == (
        "Acme",
        "Manufacturing",
        2000,
        Segment.ENTERPRISE,
    )


def test_a_new_account_without_a_name_is_named_after_its_domain():
    # when
    _import("accounts", "domain\nacme-corp.com\n")

    # then
    assert Account.objects.get().name == "Acme Corp"


def test_it_imports_the_good_lead_rows_and_reports_the_bad_ones_by_line(alice):
    # given
    webinar = Campaign.objects.create(name="Webinar: Pipeline 2025")

    # when
    result = csv_import(kind="leads", data=(FIXTURES / "leads.csv").read_bytes())

    # then
    assert (result.created, result.updated) == (3, 0)
    assert _problems(result) == [(3, "email"), (5, "email"), (7, "owner")]
    assert result.ignored_columns == ["shoe_size"]
    jane = Lead.objects.get(email="jane.doe@acme.com")
    assert (jane.first_name, jane.title, jane.owner, jane.account.domain, jane.campaign) == (
        "Jane",
        "VP Marketing",
        alice,
        "acme.com",
        webinar,
    )
    assert Identity.objects.filter(kind="email", value="jane.doe@acme.com", lead=jane).exists()
    assert Lead.objects.get(email="raj@contractor.dev").account.domain == "globex.io"
    assert not Lead.objects.filter(email="kim@initech.com").exists()


@pytest.mark.parametrize("email", ["sam@gmail.com", "Sam@GMX.de", "sam@cs.stanford.edu"])
def test_a_free_mail_or_student_lead_is_imported_without_an_account(email):
    # when
    result = _import("leads", f"email\n{email}\n")

    # then
    assert (result.created, result.errors) == (1, [])
    assert Lead.objects.get().account is None
    assert not Account.objects.exists()


@pytest.mark.parametrize("domain", ["gmail.com", "https://www.GMAIL.com/", "yahoo.co.uk"])
def test_an_account_row_with_a_free_mail_domain_is_a_bad_row(domain):
    # when
    result = _import("accounts", f"domain,name\n{domain},Somebody\nacme.com,Acme\n")

    # then
    assert [(e.line, e.column) for e in result.errors] == [(2, "domain")]
    assert "free-mail domain, never a company" in result.errors[0].message
    assert list(Account.objects.values_list("domain", flat=True)) == ["acme.com"]


def test_a_lead_naming_a_free_mail_domain_as_its_account_is_a_bad_row():
    # when
    result = _import("leads", "email,account_domain\nsam@acme.com,gmail.com\n")

    # then
    assert _problems(result) == [(2, "account_domain")]
    assert not Lead.objects.exists() and not Account.objects.exists()


def test_a_business_lead_joins_the_account_of_its_email_domain():
    # given
    _import("accounts", "domain,name\nacme.com,Acme\n")

    # when
    _import("leads", "email\nJane@ACME.com\n")

    # then
    assert Lead.objects.get(email="jane@acme.com").account == Account.objects.get(domain="acme.com")
    assert Account.objects.count() == 1


def test_importing_the_same_lead_twice_updates_it():
    # given
    _import("leads", "email,title\njane@acme.com,Engineer\n")

    # when
    result = _import("leads", "email,title,first_name\n JANE@acme.com ,Director,Jane\n")

    # then
    assert (result.created, result.updated) == (0, 1)
    jane = Lead.objects.get()
    assert (jane.title, jane.first_name) == ("Director", "Jane")
    assert Campaign.objects.count() == 0


def test_importing_the_same_file_again_reports_every_row_as_unchanged():
    # given
    text = "domain,name,employee_count\nacme.com,Acme,10\nglobex.com,Globex,20\n"
    _import("accounts", text)

    # when
    result = _import("accounts", text)

    # then
    assert [(row.line, row.status) for row in result.rows] == [(2, RowStatus.SKIPPED), (3, RowStatus.SKIPPED)]
    assert (result.created, result.updated, result.skipped) == (0, 0, 2)


def test_a_lead_naming_an_unknown_campaign_is_a_bad_row_that_suggests_the_close_name():
    # given
    Campaign.objects.create(name="Webinar: Pipeline 2025")

    # when
    result = _import("leads", "email,campaign\njane@acme.com,Webinar: Pipline 2025\nraj@acme.com,\n")

    # then
    assert _problems(result) == [(2, "campaign")]
    assert result.errors[0].message == "no campaign 'Webinar: Pipline 2025'; did you mean 'Webinar: Pipeline 2025'?"
    assert list(Campaign.objects.values_list("name", flat=True)) == ["Webinar: Pipeline 2025"]
    assert list(Lead.objects.values_list("email", flat=True)) == ["raj@acme.com"]


def test_told_to_create_campaigns_it_creates_each_unknown_campaign_once():
    # given
    text = "email,campaign\njane@acme.com,Webinar: Data Quality\nraj@acme.com,Webinar: Data Quality\n"

    # when
    result = _import("leads", text, create_campaigns=True)

    # then
    assert (result.created, result.errors) == (2, [])
    campaign = Campaign.objects.get()
    assert (campaign.name, campaign.type) == ("Webinar: Data Quality", CampaignType.WEBINAR)
    assert Lead.objects.filter(campaign=campaign).count() == 2


@pytest.mark.parametrize(
    ("kind", "text", "columns"),
    [
        (
            "accounts",
            "domain,employee_count,seats,owner,name\ngmail.com,lots,-3,nobody,Personal\n",
            ["domain", "employee_count", "seats", "owner"],
        ),
        (
            "leads",
            f"email,campaign,owner,title,account_domain\nnot-an-email,Nope,nobody,{'x' * 300},no domain\n",
            ["email", "campaign", "owner", "title", "account_domain"],
        ),
    ],
)
def test_every_problem_of_a_row_is_listed_not_only_the_first(kind, text, columns):
    # when
    result = _import(kind, text)

    # then
    assert sorted(e.column for e in result.errors) == sorted(columns)
    assert {e.line for e in result.errors} == {2}
    assert result.bad_rows == 1
    assert _counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("kind", "text", "column"),
    [
        ("accounts", "name,industry\nAcme,Software\n", "domain"),
        ("leads", "first_name,last_name\nJane,Doe\n", "email"),
        ("leads", "", "email"),
    ],
)
def test_a_file_without_the_key_column_imports_nothing_and_says_so_on_line_1(kind, text, column):
    # when
    result = _import(kind, text)

    # then
    assert _problems(result) == [(1, column)]
    assert result.imported == 0
    assert _counts() == (0, 0, 0, 0)


def test_a_value_too_long_for_its_column_is_reported_and_the_other_rows_are_kept():
    # given
    text = f"email,title\nok@acme.com,Engineer\nlong@acme.com,{'x' * 300}\n"

    # when
    result = _import("leads", text)

    # then
    assert result.created == 1
    assert _problems(result) == [(3, "title")]
    assert list(Lead.objects.values_list("email", flat=True)) == ["ok@acme.com"]


def test_a_row_the_database_refuses_is_reported_and_the_other_rows_are_kept():
    # given: a rule only the database knows (field validation passes)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE leads_account ADD CONSTRAINT test_no_evil CHECK (name <> 'Evil')")

    # when
    result = _import("accounts", "domain,name\nevil.com,Evil\nacme.com,Acme\n")

    # then
    assert _problems(result) == [(2, "")]
    assert result.errors[0].message.startswith("not saved: ")
    assert list(Account.objects.values_list("domain", flat=True)) == ["acme.com"]


@pytest.mark.parametrize(
    ("data", "line", "column"),
    [
        # Windows-1252 é on the third line.
        (b"domain,name\nacme.com,Acme\ncafe.fr,Caf\xe9\nglobex.com,Globex\n", 3, "name"),
        # Inside a quoted cell that spans lines 3-4: the byte is on line 4.
        (b'domain,name\nacme.com,Acme\ncafe.fr,"Caf\nd\xe9 Paris"\nglobex.com,Globex\n', 4, "name"),
        # Far into the file, past the chunk a text decoder reads at once.
        (
            b"domain,name\n" + b"".join(b"d%d.com,Company %d\n" % (n, n) for n in range(1, 999)) + b"cafe.fr,Caf\xe9\n",
            1000,
            "name",
        ),
    ],
)
def test_a_byte_that_is_not_utf8_is_reported_on_its_physical_line_and_the_other_rows_import(data, line, column):
    # when
    result = csv_import(kind="accounts", data=data)

    # then
    assert [(e.line, e.column) for e in result.errors] == [(line, column)]
    assert result.errors[0].message.startswith("byte 0xE9 is not UTF-8")
    assert not Account.objects.filter(domain="cafe.fr").exists()
    assert result.created == Account.objects.count() > 1


def test_a_row_with_a_bad_byte_lists_its_other_problems_too():
    # when
    result = csv_import(kind="accounts", data=b"domain,name,employee_count\ncafe.fr,Caf\xe9,lots\n")

    # then
    assert _problems(result) == [(2, "name"), (2, "employee_count")]


def test_a_cell_with_a_bad_byte_is_reported_once_not_also_checked_as_garbled_text():
    # when
    result = csv_import(kind="leads", data=b"email,title\njos\xe9@acme.com,CTO\n")

    # then
    assert [(e.line, e.column, e.message[:24]) for e in result.errors] == [(2, "email", "byte 0xE9 is not UTF-8: ")]
    assert not Lead.objects.exists()


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column():
    # when
    result = csv_import(kind="accounts", data="\ufeffdomain,name\nacme.com,Äcme\n".encode())

    # then
    assert (result.created, result.errors) == (1, [])
    assert Account.objects.get().name == "Äcme"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_sniffed(delimiter):
    # given: values that hold the other delimiters, quoted where they must be
    name = '"Acme, Inc."' if delimiter == "," else "Acme, Inc."
    employees = '"1,200"' if delimiter == "," else "1,200"
    text = delimiter.join(["domain", "name", "employee_count"]) + "\n"
    text += delimiter.join(["acme.com", name, employees]) + "\n"

    # when
    result = _import("accounts", text)

    # then
    assert (result.created, result.errors) == (1, [])
    acme = Account.objects.get()
    assert (acme.name, acme.employee_count) == ("Acme, Inc.", 1200)


def test_a_dry_run_says_what_each_row_would_do_and_writes_nothing():
    # given
    _import("accounts", "domain,name\nacme.com,Acme\nglobex.com,Globex\n")
    before = _counts()
    text = "domain,name\nacme.com,Acme Corp\nglobex.com,Globex\ninitech.com,Initech\ngmail.com,Nobody\n"

    # when
    result = _import("accounts", text, dry_run=True)

    # then
    assert [(row.line, row.status) for row in result.rows] == [
        (2, RowStatus.UPDATED),
        (3, RowStatus.SKIPPED),
        (4, RowStatus.NEW),
        (5, RowStatus.ERROR),
    ]
    assert _counts() == before
    assert Account.objects.get(domain="acme.com").name == "Acme"


def test_a_dry_run_of_leads_creates_no_account_campaign_or_identity():
    # given
    before = _counts()

    # when
    result = _import("leads", "email,campaign\njane@acme.com,Spring Webinar\n", dry_run=True, create_campaigns=True)

    # then
    assert [row.status for row in result.rows] == [RowStatus.NEW]
    assert _counts() == before


def test_the_command_imports_and_lists_bad_rows_with_a_failing_exit(alice, capsys):
    # when
    with pytest.raises(CommandError, match="3 bad rows"):
        call_command("import_csv", "accounts", str(FIXTURES / "accounts.csv"))

    # then
    out, err = capsys.readouterr()
    assert "accounts: 3 created, 0 updated, 0 unchanged, 3 bad rows" in out
    assert "line 4 (domain): missing" in err
    assert Account.objects.count() == 3


def test_the_command_succeeds_quietly_on_a_clean_file(tmp_path, capsys):
    # given
    path = tmp_path / "leads.csv"
    path.write_text("email,first_name\njane@acme.com,Jane\n", encoding="utf-8")

    # when
    call_command("import_csv", "leads", str(path))

    # then
    assert "leads: 1 created, 0 updated, 0 unchanged, 0 bad rows" in capsys.readouterr().out


def test_the_command_dry_run_prints_each_row_and_writes_nothing(tmp_path, capsys):
    # given
    path = tmp_path / "leads.csv"
    path.write_text("email,campaign\njane@acme.com,Spring Webinar\nsam@gmail.com,\n", encoding="utf-8")
    before = _counts()

    # when
    call_command("import_csv", "leads", str(path), "--dry-run", "--create-campaigns")

    # then
    out = capsys.readouterr().out
    assert "leads: 2 created, 0 updated, 0 unchanged, 0 bad rows (dry run: nothing written)" in out
    assert "line 2: new jane@acme.com" in out and "line 3: new sam@gmail.com" in out
    assert _counts() == before


def test_the_command_reports_an_unknown_campaign_unless_told_to_create_it(tmp_path, capsys):
    # given
    path = tmp_path / "leads.csv"
    path.write_text("email,campaign\njane@acme.com,Spring Webinar\n", encoding="utf-8")

    # when
    with pytest.raises(CommandError, match="1 bad rows"):
        call_command("import_csv", "leads", str(path))
    call_command("import_csv", "leads", str(path), "--create-campaigns")

    # then
    assert "line 2 (campaign): no campaign 'Spring Webinar'" in capsys.readouterr().err
    assert Lead.objects.get().campaign.name == "Spring Webinar"
