"""What one outcome from the CRM may say, checked once for the API and the CSV import.

A closed deal may also say when its opportunity was created (`opened_at`), so that time
from opportunity to close is known even when the CRM only ever sends the closed record.

`outcome_input_check` takes the raw fields (JSON values from the API, text cells from a CSV
row; a missing or empty one is None) and returns an OutcomeInput, or raises a ValidationError
listing every problem, each under the field it is about, so a CRM or a person fixing a file
sees them all at once.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone

from leads.models import OutcomeKind
from leads.services.import_rows import check_domain, check_email
from qualify_site.filters import MAX_ID, MAX_UTC_OFFSET

FIELDS = (
    "external_id",
    "kind",
    "occurred_at",
    "opened_at",
    "amount",
    "currency",
    "lead_id",
    "lead_email",
    "account_id",
    "account_domain",
)
EXTERNAL_ID_MAX_LENGTH = 100
# Outcome.amount: 14 digits, 2 of them decimals.
MAX_AMOUNT = Decimal("1e12")
DEFAULT_CURRENCY = "USD"
# A CRM's clock may run a little ahead of ours; an outcome further in the future has not happened.
CLOCK_SKEW = timedelta(minutes=5)
_CURRENCY = re.compile(r"[A-Z]{3}")
CLOSED_KINDS = (OutcomeKind.CLOSED_WON, OutcomeKind.CLOSED_LOST)
NAMES_NOTHING = "Name a lead (lead_id or lead_email) or an account (account_id or account_domain)."


@dataclass(frozen=True)
class OutcomeInput:
    external_id: str
    kind: str
    occurred_at: datetime
    opened_at: datetime | None = None
    amount: Decimal | None = None
    currency: str = DEFAULT_CURRENCY
    lead_id: int | None = None
    lead_email: str | None = None
    account_id: int | None = None
    account_domain: str | None = None


def _text(value, *, max_length: int) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # CRMs number their records too
    if not isinstance(value, str):
        raise ValueError("Give a string.")
    value = value.strip()
    if "\x00" in value:
        raise ValueError("Contains a NUL character.")
    if not value:
        raise ValueError("This field is required.")
    if len(value) > max_length:
        raise ValueError(f"At most {max_length} characters.")
    return value


def _kind(value) -> str:
    text = _text(value, max_length=32).lower()
    if text not in OutcomeKind.values:
        raise ValueError(f"{text!r} is not a kind of outcome; use one of {', '.join(OutcomeKind.values)}.")
    return text


def _occurred_at(value) -> datetime:
    """ISO 8601, a date or a date and time; without an offset it is UTC (what CRM exports write)."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = _text(value, max_length=64)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"{text!r} is not an ISO 8601 date or date and time (2026-03-01T14:30:00Z).") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if abs(moment.utcoffset()) >= MAX_UTC_OFFSET:
        raise ValueError("The UTC offset must be between -15:59 and +15:59.")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("The date and time must fall between years 1 and 9999 in UTC.") from None
    if moment > timezone.now() + CLOCK_SKEW:
        raise ValueError("It is in the future: record an outcome once it has happened.")
    return moment


def _amount(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("Give a number.")
    text = str(value).strip().replace(",", "").replace("_", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number.") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a number.")
    if amount < 0:
        raise ValueError("An amount is never negative.")
    if amount >= MAX_AMOUNT:
        raise ValueError(f"At most {MAX_AMOUNT - Decimal('0.01'):,.2f}.")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("At most 2 decimal places.")
    return amount.quantize(Decimal("0.01"))


def _currency(value) -> str:
    text = _text(value, max_length=3).upper()
    if not _CURRENCY.fullmatch(text):
        raise ValueError(f"{text!r} is not a currency code; use three letters (ISO 4217), e.g. USD.")
    return text


def _id(value) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("Give a whole number.")
    if not 1 <= value <= MAX_ID:
        raise ValueError(f"Ids run from 1 to {MAX_ID}.")
    return value


_CHECKS = {
    "external_id": lambda value: _text(value, max_length=EXTERNAL_ID_MAX_LENGTH),
    "kind": _kind,
    "occurred_at": _occurred_at,
    "opened_at": _occurred_at,
    "amount": _amount,
    "currency": _currency,
    "lead_id": _id,
    # As the lead and account imports check them: free-mail domains are never companies.
    "lead_email": lambda value: check_email(_text(value, max_length=254)),
    "account_id": _id,
    "account_domain": lambda value: check_domain(_text(value, max_length=253)),
}
_REQUIRED = ("external_id", "kind", "occurred_at")


def _is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def outcome_input_check(raw: Mapping) -> OutcomeInput:
    """The outcome the fields describe; ValidationError with every problem, by field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    for name, check in _CHECKS.items():
        value = raw.get(name)
        if _is_empty(value):
            if name in _REQUIRED:
                errors[name] = ["This field is required."]
            continue
        try:
            cleaned[name] = check(value)
        except ValueError as error:
            errors[name] = [str(error)]
    opened_at = cleaned.get("opened_at")
    if opened_at is not None and cleaned.get("kind") not in (None, *CLOSED_KINDS):
        errors["opened_at"] = ["Only a closed deal has one: an opportunity's occurred_at is when it was created."]
    elif opened_at is not None and "occurred_at" in cleaned and opened_at > cleaned["occurred_at"]:
        errors["opened_at"] = ["The opportunity was created after the deal closed (occurred_at)."]
    names = ("lead_id", "lead_email", "account_id", "account_domain")
    if not any(name in cleaned or name in errors for name in names):
        errors[NON_FIELD_ERRORS] = [NAMES_NOTHING]
    if errors:
        raise ValidationError(errors)
    return OutcomeInput(**cleaned)
