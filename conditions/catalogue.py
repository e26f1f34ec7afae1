"""The field catalogue: every field a condition may name, declared once.

Each field has a dotted name (`lead.title`), a type, a one-line description, example values,
the words a sentence uses for it ("the lead's title") and how it is computed from the rows
(the builder in `leads/facts.py` computes the lead, account and score fields; the scoring
engine's `EventFacts.condition_context` the event fields). A name ending in `.*` declares a
family of open-ended keys (`lead.traits.*`: any identify trait, as sent).

Which fields a condition may name depends on where it stands: a fit rule reads the lead and
its account, an engagement rule reads one event, a routing rule reads the lead, its account
and its score. `catalogue_for(*groups)` gives the catalogue of those groups, and
`Catalogue.problem(field, op)` is what validation asks: the field is unknown ("did you mean"),
or its type does not support the operator.

Older stored conditions wrote event fields without the `event.` prefix (`properties.path`,
`name`); those spellings stay valid as aliases, but suggestions name the current ones.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from conditions.language import OPERATORS

TEXT = "text"
NUMBER = "number"
BOOLEAN = "boolean"
WORDS = "word list"  # a list of text values (a trait sent as a list)
ANY = "any"  # open-ended keys (traits, event properties): any operator

_TEXT_OPERATORS = ("eq", "ne", "in", "not_in", "contains", "icontains", "contains_any", "startswith", "regex")
TYPE_OPERATORS: dict[str, tuple[str, ...]] = {
    TEXT: (*_TEXT_OPERATORS, "exists"),
    NUMBER: ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "exists"),
    BOOLEAN: ("eq", "ne", "exists"),
    WORDS: ("contains", "icontains", "contains_any", "exists"),
    ANY: OPERATORS,
}
TYPE_WORDS = {TEXT: "text", NUMBER: "a number", BOOLEAN: "true/false", WORDS: "a list of words", ANY: "any value"}

GROUPS = ("lead", "account", "event", "score")
GROUP_TITLES = {"lead": "Lead", "account": "Account", "event": "Event", "score": "Score"}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    description: str
    words: str
    computed_from: str
    examples: tuple[Any, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def is_family(self) -> bool:
        """A `.*` name: any key below the prefix is a field of this type."""
        return self.name.endswith(".*")

    @property
    def operators(self) -> tuple[str, ...]:
        return TYPE_OPERATORS[self.type]

    def to_dict(self) -> dict[str, Any]:
        """For a form or an API: everything a person picking a field needs."""
        return {
            "name": self.name,
            "group": self.group,
            "type": self.type,
            "description": self.description,
            "words": self.words,
            "examples": list(self.examples),
            "operators": list(self.operators),
            "computed_from": self.computed_from,
        }


def _text(name, description, words, computed_from, *examples, aliases=()) -> Field:
    return Field(name, TEXT, description, words, computed_from, examples, aliases)


def _number(name, description, words, computed_from, *examples) -> Field:
    return Field(name, NUMBER, description, words, computed_from, examples)


def _boolean(name, description, words, computed_from, aliases=()) -> Field:
    return Field(name, BOOLEAN, description, words, computed_from, (True, False), aliases)


FIELDS: tuple[Field, ...] = (
    # --- the lead ---
    _text("lead.email", "The lead's email address.", "the lead's email", "Lead.email", "ana@acme.io"),
    _text(
        "lead.email_domain",
        "The part of the email address after the @, lower-cased.",
        "the lead's email domain",
        "Lead.email after the @",
        "acme.io",
        "gmail.com",
    ),
    _text(
        "lead.email_type",
        "What kind of address it is: business, free, student or unknown.",
        "the lead's email type",
        "Lead.email's domain against the free-mail and student lists (leads/emails.py)",
        "business",
        "free",
        "student",
    ),
    _text("lead.title", "The job title, as sent.", "the lead's title", "Lead.title", "VP Data", "Head of Analytics"),
    _text("lead.seniority", "The seniority, as sent.", "the lead's seniority", "Lead.seniority", "director", "vp"),
    _text("lead.department", "The department, as sent.", "the lead's department", "Lead.department", "Engineering"),
    _text("lead.country", "The lead's country (ISO code or name).", "the lead's country", "Lead.country", "US", "DE"),
    _text("lead.region", "The lead's region or state.", "the lead's region", "Lead.region", "California"),
    _text("lead.phone", "The lead's phone number.", "the lead's phone", "Lead.phone", "+1 415 555 0100"),
    _text(
        "lead.stage",
        "Where the lead is in the funnel.",
        "the lead's stage",
        "Lead.stage",
        "new",
        "mql",
        "pql",
        "sql",
    ),
    _boolean(
        "lead.is_unsubscribed",
        "The lead unsubscribed from our emails.",
        "the lead is unsubscribed",
        "Lead.is_unsubscribed",
    ),
    _boolean("lead.has_owner", "A user owns the lead.", "the lead has an owner", "Lead.owner is set"),
    _text("lead.source", "The name of the source the lead came from.", "the lead's source", "Lead.source.name", "Web"),
    _text(
        "lead.source_kind",
        "What kind of source the lead came from: marketing, product or crm.",
        "the lead's source kind",
        "Lead.source.kind",
        "marketing",
        "product",
        "crm",
    ),
    _text("lead.campaign", "The lead's campaign.", "the lead's campaign", "Lead.campaign.name", "Q3 Webinar"),
    _text(
        "lead.campaign_type",
        "The type of the lead's campaign.",
        "the lead's campaign type",
        "Lead.campaign.type",
        "webinar",
        "paid_search",
    ),
    _number(
        "lead.days_since_first_seen",
        "Whole days from when the lead was first seen to the moment of the decision.",
        "the number of days since the lead was first seen",
        "as_of minus Lead.first_seen_at (or Lead.created_at), in whole days",
        0,
        30,
    ),
    Field(
        "lead.traits.*",
        ANY,
        "Any other identify trait, by its key (lead.traits.plan_interest).",
        "the lead's",
        "Lead.traits[key]",
        ("lead.traits.plan_interest",),
    ),
    # --- the account ---
    _text("account.name", "The company's name.", "the account's name", "Account.name", "Acme"),
    _text("account.domain", "The company's web domain.", "the account's domain", "Account.domain", "acme.io"),
    _text(
        "account.industry",
        "The company's industry, as sent.",
        "the account's industry",
        "Account.industry",
        "Software",
        "Financial Services",
    ),
    _number(
        "account.employee_count",
        "How many people the company employs.",
        "the account's employee count",
        "Account.employee_count",
        50,
        1200,
    ),
    _text("account.country", "The company's country.", "the account's country", "Account.country", "US", "GB"),
    _text("account.region", "The company's region or state.", "the account's region", "Account.region", "EMEA"),
    _text(
        "account.segment",
        "The company's segment.",
        "the account's segment",
        "Account.segment",
        "smb",
        "mid_market",
        "enterprise",
    ),
    _text("account.plan", "The plan the company is on.", "the account's plan", "Account.plan", "free", "team"),
    _number("account.seats", "Seats the company pays for.", "the account's seats", "Account.seats", 5, 40),
    _boolean("account.has_owner", "A user owns the account.", "the account has an owner", "Account.owner is set"),
    Field(
        "account.traits.*",
        ANY,
        "Any other group trait, by its key (account.traits.funding_stage).",
        "the account's",
        "Account.traits[key]",
        ("account.traits.funding_stage",),
    ),
    # --- one event (engagement rules, PQL paths) ---
    _text(
        "event.name",
        "The track event's name, or the page or screen name.",
        "the event name",
        "Event.event (track) or Event.name (page, screen)",
        "Demo Requested",
        "Job Run",
        aliases=("name",),
    ),
    _text(
        "event.type",
        "The Segment call type.",
        "the event type",
        "Event.type",
        "track",
        "page",
        "group",
        aliases=("type",),
    ),
    _text(
        "event.user",
        "Who did it: the lead's id, or the user or anonymous id.",
        "the user",
        "Event.lead_id, else user_id or anonymous_id",
        "42",
        aliases=("user",),
    ),
    _boolean(
        "event.account_level",
        "The event reached the lead through its account (a colleague did it).",
        "the event came from the account",
        "set when the event is the account's, not the lead's own",
        aliases=("account_level",),
    ),
    _text(
        "event.properties.path",
        "The page's path.",
        "the event's path",
        "Event.properties['path']",
        "/pricing",
        "/docs/start",
        aliases=("properties.path",),
    ),
    _text(
        "event.properties.url",
        "The page's full address.",
        "the event's url",
        "Event.properties['url']",
        "https://qualify.example/pricing",
        aliases=("properties.url",),
    ),
    _text(
        "event.properties.asset_type",
        "What kind of asset was downloaded.",
        "the event's asset type",
        "Event.properties['asset_type']",
        "checklist",
        "whitepaper",
        aliases=("properties.asset_type",),
    ),
    Field(
        "event.properties.*",
        ANY,
        "Any other event property, by its key.",
        "the event's",
        "Event.properties[key]",
        ("event.properties.plan",),
        aliases=("properties.*",),
    ),
    Field(
        "event.context.*",
        ANY,
        "Any key of the event's context (the library, the page, the campaign).",
        "the event context's",
        "Event.context[key]",
        ("event.context.campaign",),
        aliases=("context.*",),
    ),
    # --- the lead's current score (routing) ---
    _number("score.total", "Fit plus engagement.", "the total score", "Score.total", 75, 130),
    _number("score.fit", "Who the lead is, in points.", "the fit score", "Score.fit", 40),
    _number("score.engagement", "What the lead did, in points.", "the engagement score", "Score.engagement", 25),
    _text("score.grade", "The fit grade, A to D.", "the fit grade", "Score.grade", "A", "B"),
    _boolean("score.is_hot", "The total is at or above the hot threshold.", "the lead is hot", "Score.is_hot"),
    _boolean("score.is_mql", "The score meets the MQL thresholds.", "the score makes an MQL", "Score.is_mql"),
    _text("score.pql_path", "The PQL path the lead took, if any.", "the PQL path", "Score.pql_path", "Activation"),
)


class Catalogue:
    """A set of fields: look one up by name (or alias, or family), check an operator, suggest names."""

    def __init__(self, fields: tuple[Field, ...]):
        self.fields = fields
        self._exact: dict[str, Field] = {}
        self._families: list[tuple[str, Field]] = []
        for field in fields:
            for name in (field.name, *field.aliases):
                if name.endswith(".*"):
                    self._families.append((name[:-1], field))
                else:
                    self._exact[name] = field
        # Longest prefix first, so `event.properties.*` wins over a shorter family.
        self._families.sort(key=lambda pair: len(pair[0]), reverse=True)

    def field(self, name: str) -> Field | None:
        """The field `name` refers to, or None when the catalogue lacks it."""
        found = self._exact.get(name)
        if found is not None:
            return found
        for prefix, field in self._families:
            if name.startswith(prefix) and len(name) > len(prefix):
                return field
        return None

    def names(self) -> list[str]:
        return [field.name for field in self.fields]

    def groups(self) -> list[str]:
        return [group for group in GROUPS if any(field.group == group for field in self.fields)]

    def suggest(self, name: str, *, limit: int = 2) -> list[str]:
        """The closest known names, best first (difflib), looking first among the name's own group."""
        candidates = [field.name for field in self.fields if not field.is_family]
        group, _, rest = name.partition(".")
        if group not in self.groups() and f"event.{name}" in candidates:
            return [f"event.{name}"]  # an event field written without its prefix
        if group in self.groups() and rest:
            by_key = {candidate.partition(".")[2]: candidate for candidate in candidates if candidate.startswith(group)}
            close = difflib.get_close_matches(rest, list(by_key), n=limit, cutoff=0.5)
            if close:
                return [by_key[key] for key in close]
        if group not in GROUPS:
            # A bare key (`path`, `title`): the fields whose last part it resembles.
            by_tail: dict[str, list[str]] = {}
            for candidate in candidates:
                by_tail.setdefault(candidate.rsplit(".", 1)[1], []).append(candidate)
            close = difflib.get_close_matches(name.rsplit(".", 1)[-1], list(by_tail), n=limit, cutoff=0.75)
            if close:
                return [candidate for key in close for candidate in by_tail[key]][:limit]
        return difflib.get_close_matches(name, candidates, n=limit, cutoff=0.6)

    def problem(self, field: str, op: str) -> str | None:
        """Why a condition may not compare `field` with `op`, in words; None when it may."""
        found = self.field(field)
        if found is None:
            group, _, rest = field.partition(".")
            groups = self.groups()
            if group in GROUPS and group not in groups:
                return f"`{field}`: {group} fields cannot be used here; fields here start with {', '.join(groups)}"
            suggestions = [f"`{name}`" for name in self.suggest(field)]
            if not suggestions and rest and self.field(f"{group}.traits.{rest}") is not None:
                # No field is close: perhaps an identify or group trait of that name, under traits.
                suggestions = [f"the trait `{group}.traits.{rest}`"]
            if not suggestions:
                return f"`{field}` is not a field; fields here start with {', '.join(groups)}"
            return f"`{field}` is not a field; did you mean {' or '.join(suggestions)}?"
        if op not in found.operators:
            return (
                f"`{field}` is {TYPE_WORDS[found.type]}; operator '{op}' does not apply to it "
                f"(use {', '.join(found.operators)})"
            )
        return None

    def grouped(self) -> dict[str, list[Field]]:
        """Fields by group, in the order a form lists them: lead, account, event, score."""
        groups: dict[str, list[Field]] = {}
        for group in GROUPS:
            members = [field for field in self.fields if field.group == group]
            if members:
                groups[group] = members
        return groups

    def to_dict(self) -> dict[str, Any]:
        return {
            group: {"title": GROUP_TITLES[group], "fields": [field.to_dict() for field in fields]}
            for group, fields in self.grouped().items()
        }


CATALOGUE = Catalogue(FIELDS)
_BY_GROUPS: dict[tuple[str, ...], Catalogue] = {}


def catalogue_for(*groups: str) -> Catalogue:
    """The fields of some groups: ("lead", "account") for fit rules, ("event",) for event rules."""
    key = tuple(sorted(groups))
    found = _BY_GROUPS.get(key)
    if found is None:
        unknown = set(groups) - set(GROUPS)
        if unknown:
            raise ValueError(f"unknown field group(s) {sorted(unknown)}; expected some of {GROUPS}")
        found = _BY_GROUPS[key] = Catalogue(tuple(field for field in FIELDS if field.group in groups))
    return found


# The catalogues each kind of condition is checked against.
ATTRIBUTE_FIELDS = catalogue_for("lead", "account")  # fit and attribute-based negative rules
EVENT_FIELDS = catalogue_for("event")  # engagement rules, event-based negative rules, PQL paths
ROUTING_FIELDS = catalogue_for("lead", "account", "score")  # routing rules
