"""CSV import of accounts and leads: good rows are imported, bad rows reported by line.

Line numbers are the file's physical lines, the header being line 1, so a
marketing ops person can open the file and find the row. Each row is written
in its own savepoint: one bad row never takes the good ones down with it.
Rows upsert on the natural key (normalized domain for accounts, normalized
email for leads); an empty cell never blanks a value already stored.
"""

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import DatabaseError, transaction
from django.db.models import Q

from leads.emails import email_domain, is_free_mail_domain, normalize_domain, normalize_email
from leads.models import Account, Campaign, Identity, IdentityKind, Lead

ACCOUNT_COLUMNS = {"domain", "name", "industry", "employee_count", "country", "region", "plan", "seats", "owner"}
# `website` is how many CRMs export the domain column.
ACCOUNT_COLUMN_ALIASES = {"website": "domain", "employees": "employee_count"}
LEAD_COLUMNS = {
    "email",
    "first_name",
    "last_name",
    "title",
    "department",
    "seniority",
    "country",
    "region",
    "phone",
    "account_domain",
    "campaign",
    "owner",
}
LEAD_COLUMN_ALIASES = {"company_domain": "account_domain"}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f" ({self.column})" if self.column else ""
        return f"line {self.line}{where}: {self.message}"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated


class _RowInvalid(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def _text_stream(file) -> io.TextIOBase:
    """A text stream from a path-opened text file, a binary file or an uploaded file."""
    if isinstance(file, io.TextIOBase):
        return file
    # utf-8-sig drops the byte-order mark Excel puts at the start of "CSV UTF-8" files.
    return io.TextIOWrapper(file, encoding="utf-8-sig", newline="")


def _rows(file, *, known: set[str], aliases: dict[str, str], result: ImportResult):
    """Yield (line, row) with canonical column names; unknown columns go to result.ignored_columns."""
    reader = csv.reader(_text_stream(file))
    try:
        header = next(reader)
    except StopIteration:
        return
    except (UnicodeDecodeError, csv.Error) as error:
        result.errors.append(RowError(1, "", f"cannot read the file as UTF-8 CSV: {error}"))
        return
    columns = []
    for raw in header:
        name = raw.strip().lower().replace(" ", "_")
        name = aliases.get(name, name)
        if name not in known:
            result.ignored_columns.append(raw)
            name = None
        columns.append(name)
    last_line = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except (UnicodeDecodeError, csv.Error) as error:
            result.errors.append(RowError(last_line + 1, "", f"cannot read this row: {error}"))
            return
        # A quoted cell may span lines: the row starts on the line after the previous row ended.
        line, last_line = last_line + 1, reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(columns):
            result.errors.append(RowError(line, "", f"{len(values)} cells but the header has {len(columns)}"))
            continue
        yield line, {name: value.strip() for name, value in zip(columns, values, strict=False) if name}


def _optional_count(row: dict, column: str) -> int | None:
    raw = row.get(column, "").replace(",", "").replace("_", "")
    if not raw:
        return None
    try:
        number = int(raw)
    except ValueError:
        raise _RowInvalid(column, f"{row[column]!r} is not a whole number") from None
    if number < 0:
        raise _RowInvalid(column, f"{number} is negative")
    return number


def _owner(row: dict):
    """The user named in the owner column (username or email), or None when the cell is empty."""
    ref = row.get("owner", "")
    if not ref:
        return None
    user = get_user_model().objects.filter(Q(username=ref) | Q(email__iexact=ref)).order_by("id").first()
    if user is None:
        raise _RowInvalid("owner", f"no user {ref!r}")
    return user


def _set_if_given(obj, row: dict, fields: list[str]) -> None:
    for name in fields:
        if row.get(name):
            setattr(obj, name, row[name])


def _require(rows, column: str, result: ImportResult):
    """Pass rows through, but stop with one line-1 error when the header lacks a required column."""
    first = True
    for line, row in rows:
        if first and column not in row:
            result.errors.append(RowError(1, column, f"the header has no {column!r} column"))
            return
        first = False
        yield line, row


def _import(rows, result: ImportResult, import_row) -> ImportResult:
    for line, row in rows:
        try:
            with transaction.atomic():
                created = import_row(row)
        except _RowInvalid as invalid:
            result.errors.append(RowError(line, invalid.column, invalid.message))
            continue
        except DatabaseError as error:
            # A value the database refuses (too long, ...): report it, keep going.
            result.errors.append(RowError(line, "", f"not saved: {error}".strip()))
            continue
        if created:
            result.created += 1
        else:
            result.updated += 1
    return result


def _account_row(row: dict) -> bool:
    domain = normalize_domain(row.get("domain", ""))
    if domain is None:
        raise _RowInvalid("domain", "missing" if not row.get("domain") else f"{row['domain']!r} is not a domain")
    employee_count = _optional_count(row, "employee_count")
    seats = _optional_count(row, "seats")
    owner = _owner(row)
    account, created = Account.objects.select_for_update().get_or_create(domain=domain)
    _set_if_given(account, row, ["name", "industry", "country", "region", "plan"])
    if employee_count is not None:
        account.employee_count = employee_count
    if seats is not None:
        account.seats = seats
    if owner is not None:
        account.owner = owner
    if created and not account.name:
        account.name = domain
    account.save()
    return created


def accounts_import_csv(*, file) -> ImportResult:
    """Import accounts (columns: domain or website, name, industry, employee_count, country, region, plan,
    seats, owner). Upserts by normalized domain."""
    result = ImportResult()
    rows = _rows(file, known=ACCOUNT_COLUMNS, aliases=ACCOUNT_COLUMN_ALIASES, result=result)
    return _import(_require(rows, "domain", result), result, _account_row)


def _account_for_lead(row: dict, email: str) -> Account | None:
    """The account named by account_domain, else the one of a business email domain (created if new).

    Free-mail domains never make an account: thousands of unrelated people share gmail.com.
    """
    if row.get("account_domain"):
        domain = normalize_domain(row["account_domain"])
        if domain is None:
            raise _RowInvalid("account_domain", f"{row['account_domain']!r} is not a domain")
    else:
        domain = email_domain(email)
        if is_free_mail_domain(domain):
            return None
    account, _ = Account.objects.get_or_create(domain=domain, defaults={"name": domain})
    return account


def _lead_row(row: dict) -> bool:
    email = normalize_email(row.get("email", ""))
    if email is None:
        raise _RowInvalid("email", "missing" if not row.get("email") else f"{row['email']!r} is not an email address")
    owner = _owner(row)
    account = _account_for_lead(row, email)
    campaign = None
    if row.get("campaign"):
        campaign, _ = Campaign.objects.get_or_create(name=row["campaign"])
    lead, created = Lead.objects.select_for_update().get_or_create(email=email)
    _set_if_given(
        lead, row, ["first_name", "last_name", "title", "department", "seniority", "country", "region", "phone"]
    )
    # Keep an account a lead already has (set by a group call or by hand) unless the file names one.
    if account is not None and (lead.account_id is None or row.get("account_domain")):
        lead.account = account
    if campaign is not None:
        lead.campaign = campaign
    if owner is not None:
        lead.owner = owner
    lead.save()
    # The email is also an identity, so events that later identify with it resolve to this lead.
    Identity.objects.get_or_create(kind=IdentityKind.EMAIL, value=email, defaults={"lead": lead})
    return created


def leads_import_csv(*, file) -> ImportResult:
    """Import leads (columns: email, first_name, last_name, title, department, seniority, country, region,
    phone, account_domain, campaign, owner). Upserts by normalized email."""
    result = ImportResult()
    rows = _rows(file, known=LEAD_COLUMNS, aliases=LEAD_COLUMN_ALIASES, result=result)
    return _import(_require(rows, "email", result), result, _lead_row)
