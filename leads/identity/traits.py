"""What identify and group traits may change, and how. Pure Python, no Django.

Traits come straight from clients, so they are untrusted: only the names listed
here map to model fields. Everything else (including `owner`, `score`, `stage`
and the like) is kept as sent in the JSON `traits` column and never read back
as a field, which is what makes mass assignment impossible.
"""

import re
from dataclasses import dataclass, field

from leads.emails import normalize_domain, normalize_email


def _key(name: str) -> str:
    # firstName, first_name and First Name all mean the same trait.
    return re.sub(r"[^a-z0-9]", "", name.lower())


# normalized trait name -> (Lead field, max length)
_LEAD_FIELDS: dict[str, tuple[str, int]] = {
    "firstname": ("first_name", 100),
    "lastname": ("last_name", 100),
    "title": ("title", 200),
    "jobtitle": ("title", 200),
    "department": ("department", 100),
    "seniority": ("seniority", 100),
    "country": ("country", 100),
    "region": ("region", 100),
    "phone": ("phone", 50),
}

# normalized trait name -> (Account field, max length or None for integers)
_ACCOUNT_FIELDS: dict[str, tuple[str, int | None]] = {
    "name": ("name", 200),
    "industry": ("industry", 100),
    "employees": ("employee_count", None),
    "employeecount": ("employee_count", None),
    "numberofemployees": ("employee_count", None),
    "country": ("country", 100),
    "region": ("region", 100),
    "plan": ("plan", 100),
    "seats": ("seats", None),
}
_DOMAIN_TRAITS = ("domain", "website")


@dataclass(frozen=True)
class LeadTraits:
    email: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AccountTraits:
    domain: str | None = None
    fields: dict[str, object] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def _text(value: object, max_length: int) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text[:max_length] or None


def parse_count(value: object) -> int | None:
    """250, "250", "1,000" or "51-200" (the upper bound of a band) -> int; None when not a count."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value >= 0 else None
    if isinstance(value, str):
        numbers = re.findall(r"\d+", value.replace(",", ""))
        if numbers:
            return min(int(numbers[-1]), 2_000_000_000)
    return None


def lead_traits_parse(traits: object) -> LeadTraits:
    """Split identify traits into the email, the lead fields they may set, and the rest."""
    if not isinstance(traits, dict):
        return LeadTraits()
    fields: dict[str, str] = {}
    extra: dict = {}
    email = None
    for name, value in traits.items():
        key = _key(str(name))
        if key == "email":
            email = value
            continue
        if key in _LEAD_FIELDS:
            field_name, max_length = _LEAD_FIELDS[key]
            if (text := _text(value, max_length)) is not None:
                fields[field_name] = text
                continue
        extra[name] = value
    # Segment's spec also allows a single `name` and an `address` object.
    if "first_name" not in fields and "last_name" not in fields and (full := _text(traits.get("name"), 201)):
        first, _, last = full.partition(" ")
        fields["first_name"] = first[:100]
        if last:
            fields["last_name"] = last[:100]
    address = traits.get("address")
    if isinstance(address, dict):
        for key, field_name in (("country", "country"), ("state", "region")):
            if field_name not in fields and (text := _text(address.get(key), 100)):
                fields[field_name] = text
    return LeadTraits(email=normalize_email(email), fields=fields, extra=extra)


def account_traits_parse(traits: object) -> AccountTraits:
    """Split group traits into the domain, the account fields they may set, and the rest."""
    if not isinstance(traits, dict):
        return AccountTraits()
    fields: dict[str, object] = {}
    extra: dict = {}
    domain = None
    for name, value in traits.items():
        key = _key(str(name))
        if key in _DOMAIN_TRAITS:
            domain = domain or normalize_domain(value)
            continue
        if key in _ACCOUNT_FIELDS:
            field_name, max_length = _ACCOUNT_FIELDS[key]
            parsed = parse_count(value) if max_length is None else _text(value, max_length)
            if parsed is not None:
                fields[field_name] = parsed
                continue
        extra[name] = value
    return AccountTraits(domain=domain, fields=fields, extra=extra)


def company_name_from_domain(domain: str) -> str:
    """acme-corp.co.uk -> "Acme Corp": a readable placeholder until a group call names it."""
    label = domain.split(".", 1)[0]
    return re.sub(r"[-_]+", " ", label).strip().title()[:200] or domain[:200]


# utm_medium / context.campaign.medium -> campaign type. Mediums vary by team;
# these are the conventional spellings (Google Analytics' default channel groups).
_MEDIUM_TYPES = {
    "abm": "abm",
    "webinar": "webinar",
    "email": "email",
    "newsletter": "email",
    "cpc": "paid",
    "ppc": "paid",
    "paid": "paid",
    "paidsocial": "paid",
    "paidsearch": "paid",
    "display": "paid",
    "cpm": "paid",
    "retargeting": "paid",
    "event": "event",
    "events": "event",
    "conference": "event",
    "tradeshow": "event",
    "content": "content",
    "blog": "content",
    "organic": "content",
    "social": "content",
    "syndication": "content",
}


def campaign_type_for(medium: object, name: str = "") -> str:
    """Campaign type from the medium, else from a telling word in the name; "other" when unsure."""
    if isinstance(medium, str) and (kind := _MEDIUM_TYPES.get(_key(medium))):
        return kind
    for word in re.findall(r"[a-z]+", name.lower()):
        if word in ("webinar", "abm", "conference", "event"):
            return _MEDIUM_TYPES[word]
    return "other"
