"""A deterministic B2B world for demos and benchmarks. Pure Python, no Django.

The vendor is "Pipewise", a data-workflow product with a marketing site and a
free trial. The world is a sequence of *units*: each unit is one company (an
account and its people) or one lone visitor (a student or someone on free
mail). Every unit is simulated from its own `random.Random` seeded by
`(seed, index)`, so the same seed gives the same messages, any unit can be
rebuilt alone, and a million events stream out without the world in memory.

Each account has a hidden *intent* (never sent). Intent drives behaviour:
visits, pricing-page views, demo requests, trial activation, active users,
plan limits. Outcomes (meeting, opportunity, closed won/lost) are then drawn
from the behaviour that actually happened, plus a little unobserved intent,
so calibration later has something true, and imperfect, to find: activated
accounts that hit plan limits convert far more; whitepaper-only readers
rarely; students never.
"""

import math
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from leads.demo import data

MARKETING = "marketing"
PRODUCT = "product"
SITE = "https://www.pipewise.io"
DAY = 86400.0

# The event vocabulary of the default rules (PRODUCT.md): tests check the
# generator never strays from it.
MARKETING_EVENTS = frozenset(
    {
        "Form Submitted",
        "Webinar Registered",
        "Webinar Attended",
        "Asset Downloaded",
        "Email Link Clicked",
        "Demo Requested",
        "Unsubscribed",
    }
)
PRODUCT_EVENTS = frozenset(
    {
        "Signed Up",
        "Trial Started",
        "Source Connected",
        "Job Run",
        "Results Viewed",
        "Invite Sent",
        "Account Added User",
        "Plan Limit Reached",
        "Subscription Upgraded",
    }
)


@dataclass(frozen=True)
class WorldSpec:
    seed: int = 7
    accounts: int = 300
    leads_per_account: int = 6
    days: int = 90
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=self.days)


@dataclass(frozen=True)
class DemoAccount:
    group_id: str
    name: str
    domain: str
    industry: str
    employees: int
    country: str
    region: str


@dataclass(frozen=True)
class DemoPerson:
    email: str
    first_name: str
    last_name: str
    title: str
    department: str
    seniority: str
    country: str
    phone: str
    email_type: str  # business, free or student
    anonymous_id: str
    user_id: str
    buyer: float  # 0..1, how much this person can push a purchase (hidden)


@dataclass(frozen=True)
class DemoOutcome:
    kind: str  # leads.models.OutcomeKind values
    external_id: str
    email: str
    group_id: str | None
    amount: Decimal | None
    occurred_at: datetime


@dataclass(frozen=True)
class Unit:
    """One simulated company or lone visitor, with everything it sent."""

    index: int
    account: DemoAccount | None
    people: tuple[DemoPerson, ...]
    messages: tuple[tuple[str, dict], ...]  # (source kind, Segment message), in time order
    outcomes: tuple[DemoOutcome, ...]
    # What an observer could see in the messages (used by tests and docs,
    # and the only inputs of the outcome draw besides hidden intent).
    signals: dict


def world_units(spec: WorldSpec) -> Iterator[Unit]:
    """Every unit of the world, in order. Lone visitors are interleaved with
    companies (about one per two companies), so any prefix of the stream is a
    representative sample."""
    index = 0
    for account_number in range(spec.accounts):
        yield unit_simulate(spec, index, account_number=account_number)
        index += 1
        if account_number % 2 == 1:
            yield unit_simulate(spec, index, account_number=None)
            index += 1


def message_batches(units: Iterable[Unit], *, size: int = 500) -> Iterator[tuple[str, list[dict]]]:
    """(source kind, up to `size` messages) batches, as a client library would
    send them: one buffer per source, flushed when full and at the end."""
    buffers: dict[str, list[dict]] = {MARKETING: [], PRODUCT: []}
    for unit in units:
        for kind, message in unit.messages:
            buffer = buffers[kind]
            buffer.append(message)
            if len(buffer) >= size:
                yield kind, buffer
                buffers[kind] = buffer = []
    for kind, buffer in buffers.items():
        if buffer:
            yield kind, buffer


def unit_simulate(spec: WorldSpec, index: int, *, account_number: int | None) -> Unit:
    rng = random.Random(f"qualify-demo:{spec.seed}:{index}")
    simulation = _Simulation(spec, rng, index)
    if account_number is None:
        return simulation.run_lone_visitor()
    return simulation.run_company(account_number)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _weighted(rng: random.Random, items, weight_index: int):
    return rng.choices(items, weights=[item[weight_index] for item in items], k=1)[0]


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


@dataclass
class _PersonState:
    person: DemoPerson
    engagement: float
    identified_at: float | None = None
    unsubscribed: bool = False
    joined_product_at: float | None = None


class _Simulation:
    """Builds one unit's messages. Times are seconds since the world's start."""

    def __init__(self, spec: WorldSpec, rng: random.Random, index: int):
        self.spec = spec
        self.rng = rng
        self.index = index
        self.horizon = spec.days * DAY
        self.pending: list[tuple[float, int, str, dict]] = []
        self.signals: dict = {
            "identified": 0,
            "pricing_views": 0,
            "careers_views": 0,
            "demo_requested": False,
            "webinar_attended": False,
            "asset_types": set(),
            "trial": False,
            "activated": False,
            "active_users": 0,
            "plan_limit": False,
            "upgraded": False,
            "unsubscribed": 0,
            "buyer_engaged": 0.0,
        }
        self.strong_signal_at: float | None = None
        self.account: DemoAccount | None = None
        self.user_agent = rng.choice(data.USER_AGENTS)

    # --- building blocks ---------------------------------------------------
    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _when(self, t: float) -> str:
        t = min(max(t, 0.0), self.horizon)
        moment = self.spec.start + timedelta(seconds=round(t, 3))
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _emit(self, t: float, kind: str, message: dict) -> None:
        if t > self.horizon:
            return  # in the future: it has not happened yet
        message["messageId"] = self._id()
        message["timestamp"] = self._when(t)
        self.pending.append((t, len(self.pending), kind, message))

    def _web_context(self, path: str, title: str, campaign: tuple[str, str] | None = None) -> dict:
        context = {
            "library": {"name": "analytics.js", "version": "4.15.3"},
            "userAgent": self.user_agent,
            "locale": "en-US",
            "page": {"path": path, "url": SITE + path, "title": title, "referrer": ""},
        }
        if campaign is not None:
            name, kind = campaign
            medium = {"paid": "cpc", "email": "email", "event": "event"}.get(kind, "referral")
            context["campaign"] = {"name": name, "source": kind, "medium": medium}
        return context

    def _page(self, t: float, state: _PersonState, path: str, campaign=None) -> None:
        title = path.strip("/").replace("-", " ").replace("/", " · ").title() or "Home"
        message = {
            "type": "page",
            "anonymousId": state.person.anonymous_id,
            "name": title,
            "properties": {"path": path, "url": SITE + path, "title": title, "referrer": ""},
            "context": self._web_context(path, title, campaign),
        }
        self._emit(t, MARKETING, message)
        if path == "/pricing":
            self.signals["pricing_views"] += 1
            if self.signals["pricing_views"] == 2:
                self._strong(t)
        elif path == "/careers":
            self.signals["careers_views"] += 1

    def _web_track(self, t: float, state: _PersonState, event: str, properties: dict, path: str = "/") -> None:
        message = {
            "type": "track",
            "anonymousId": state.person.anonymous_id,
            "event": event,
            "properties": properties,
            "context": self._web_context(path, event),
        }
        self._emit(t, MARKETING, message)

    def _traits(self, person: DemoPerson) -> dict:
        traits = {
            "email": person.email,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "title": person.title,
            "department": person.department,
            "seniority": person.seniority,
            "country": person.country,
        }
        if person.phone:
            traits["phone"] = person.phone
        return {key: value for key, value in traits.items() if value}

    def _product(self, t: float, person: DemoPerson, event: str, properties: dict, group_id: str | None) -> None:
        context = {"library": {"name": "analytics-python", "version": "2.3.2"}}
        if group_id:
            context["groupId"] = group_id
        message = {"type": "track", "userId": person.user_id, "event": event, "properties": properties}
        message["context"] = context
        self._emit(t, PRODUCT, message)

    def _strong(self, t: float) -> None:
        if t <= self.horizon and (self.strong_signal_at is None or t < self.strong_signal_at):
            self.strong_signal_at = t

    def _gap(self, mean_days: float) -> float:
        return self.rng.expovariate(1.0 / (mean_days * DAY))

    # --- people --------------------------------------------------------------
    def _name(self) -> tuple[str, str]:
        return self.rng.choice(data.FIRST_NAMES), self.rng.choice(data.LAST_NAMES)

    def _phone(self, prefix: str) -> str:
        if self.rng.random() < 0.4:
            return ""
        return f"{prefix} {self.rng.randint(200, 989)} {self.rng.randint(100, 999)} {self.rng.randint(1000, 9999)}"

    def _person(self, *, email, first, last, title, department, seniority, country, phone, email_type, buyer):
        return DemoPerson(
            email=email,
            first_name=first,
            last_name=last,
            title=title,
            department=department,
            seniority=seniority,
            country=country,
            phone=phone,
            email_type=email_type,
            anonymous_id=self._id(),
            user_id="usr_" + uuid.UUID(int=self.rng.getrandbits(128)).hex[:16],
            buyer=buyer,
        )

    def _free_mail_local(self, first: str, last: str, serial: int) -> str:
        # The unit index makes the address unique across the whole world.
        return f"{_slug(first)}.{_slug(last)}{self.index * 100 + serial}"

    # --- a company -------------------------------------------------------------
    def _account(self, account_number: int) -> tuple[DemoAccount, float, str, str]:
        rng = self.rng
        industry, _, industry_fit = _weighted(rng, data.INDUSTRIES, 1)
        country, region, _, tld, phone_prefix = _weighted(rng, data.COUNTRIES, 2)
        segment, _, low, high = _weighted(rng, data.SIZE_BANDS, 1)
        # Log-uniform: many small companies within each band, few huge ones.
        employees = int(math.exp(rng.uniform(math.log(low), math.log(high + 1))))
        prefixes = data.COMPANY_PREFIXES
        # A bijection from account number to (round, prefix) keeps names and
        # domains unique without any global state.
        multiplier = next(m for m in range(37, 1000) if math.gcd(m, len(prefixes)) == 1)
        round_number, position = divmod(account_number, len(prefixes))
        prefix = prefixes[(position * multiplier + self.spec.seed) % len(prefixes)]
        suffix = rng.choice(data.INDUSTRY_SUFFIXES[industry])
        qualifiers = ("", "Group", "Partners", "International", "Holdings", "Global", "Co")
        qualifier = qualifiers[round_number] if round_number < len(qualifiers) else str(round_number)
        name = " ".join(part for part in (prefix, suffix, qualifier) if part)
        domain_stem = _slug(prefix + suffix) + ("" if round_number == 0 else _slug(qualifier))
        account = DemoAccount(
            group_id=f"acct_{self.spec.seed}_{account_number:06d}",
            name=name,
            domain=f"{domain_stem}.{tld}",
            industry=industry,
            employees=employees,
            country=country,
            region=region,
        )
        size_fit = {"smb": 0.5, "mid_market": 1.0, "enterprise": 0.8}[segment]
        intent = rng.betavariate(1.3, 3.0) * (0.55 + 0.3 * industry_fit + 0.25 * size_fit)
        return account, min(intent, 1.0), phone_prefix, segment

    def run_company(self, account_number: int) -> Unit:
        rng = self.rng
        account, intent, phone_prefix, segment = self._account(account_number)
        self.account = account
        headcount = max(1, min(account.employees, round(rng.triangular(1, 2 * self.spec.leads_per_account - 1))))
        people: list[_PersonState] = []
        used_emails: set[str] = set()
        free_serial = 0
        for _ in range(headcount):
            first, last = self._name()
            title, department, seniority, _, buyer = _weighted(rng, data.TITLES, 3)
            if rng.random() < 0.08:
                # A colleague who signs up with a personal address: the classic leak.
                domain = rng.choice(data.FREE_MAIL)
                local, email_type = self._free_mail_local(first, last, free_serial), "free"
                free_serial += 1
            else:
                domain, email_type = account.domain, "business"
                first_slug, last_slug = _slug(first), _slug(last)
                local = rng.choice([f"{first_slug}.{last_slug}", f"{first_slug[0]}{last_slug}", first_slug])
            email = f"{local}@{domain}"
            suffix = 2
            while email in used_emails:
                email = f"{local}{suffix}@{domain}"
                suffix += 1
            used_emails.add(email)
            person = self._person(
                email=email,
                first=first,
                last=last,
                title=title,
                department=department,
                seniority=seniority,
                country=account.country,
                phone=self._phone(phone_prefix),
                email_type=email_type,
                buyer=buyer,
            )
            engagement = min(1.0, intent * (0.6 + 0.8 * rng.random()) + 0.1 * rng.random())
            people.append(_PersonState(person, engagement))

        # The company's research starts somewhere in the window; late starters
        # simply have less history, like real pipelines.
        journey_start = rng.uniform(0, self.horizon * 0.85)
        for state in people:
            self._marketing_journey(state, journey_start + self._gap(6), intent)
        if rng.random() < 0.12 + 0.8 * intent:
            self._product_journey(account, people, intent)
        outcomes = self._company_outcomes(account, people, intent, segment)
        return self._unit(account, people, outcomes)

    def _marketing_journey(self, state: _PersonState, t: float, intent: float) -> None:
        rng, person, engagement = self.rng, state.person, state.engagement
        campaign = rng.choice(data.CAMPAIGNS)
        is_technical = person.department in ("Data", "Engineering")
        # Anonymous browsing first.
        for visit in range(1 + int(rng.expovariate(1.0 / (1 + 3 * engagement)))):
            # A visit reads a few pages, a minute or two apart.
            for page_number in range(rng.randint(1, 4)):
                path = self._pick_path(person, intent, is_technical)
                first_page = visit == 0 and page_number == 0
                self._page(t + page_number * rng.uniform(20, 150), state, path, campaign if first_page else None)
            t += self._gap(2.5)
        # Most people a company sends us eventually fill a form; some never do.
        if rng.random() > 0.6 + 0.4 * engagement:
            return
        self._convert(t, state, campaign)
        t += self._gap(1)
        # After identification: nurture emails, more visits, maybe a demo.
        actions = int(rng.expovariate(1.0 / (1 + 9 * engagement)))
        for _ in range(actions):
            t += self._gap(4)
            if t > self.horizon or state.unsubscribed:
                break
            roll = rng.random()
            if roll < 0.35:
                medium_campaign = ("monthly-newsletter", "email") if rng.random() < 0.6 else campaign
                self._web_track(t, state, "Email Link Clicked", {"campaign": medium_campaign[0], "link": "/blog"})
                self._page(t + 5, state, rng.choice(data.BLOG_PAGES))
            elif roll < 0.6:
                self._page(t, state, self._pick_path(person, intent, is_technical))
            elif roll < 0.72:
                asset_type, asset = rng.choice(data.ASSETS)
                self._download(t, state, asset_type, asset, campaign[0])
            elif roll < 0.84:
                self._webinar(t, state)
            elif roll < 0.84 + 0.16 * intent * person.buyer:
                self._page(t, state, "/pricing")
                self._form(t + 60, state, "demo-request", campaign[0])
                self._web_track(t + 61, state, "Demo Requested", {"form_id": "demo-request"}, "/demo")
                self.signals["demo_requested"] = True
                self._strong(t + 61)
            elif rng.random() < 0.5 * (1 - engagement):
                self._web_track(t, state, "Unsubscribed", {"list": "marketing"}, "/unsubscribe")
                state.unsubscribed = True
                self.signals["unsubscribed"] += 1

    def _pick_path(self, person: DemoPerson, intent: float, is_technical: bool) -> str:
        rng = self.rng
        careers_weight = 5.0 if person.buyer == 0.0 else 0.3
        options = (
            ("/", 3.0),
            ("blog", 3.0),
            ("docs", 4.0 if is_technical else 0.7),
            ("/pricing", 0.3 + 6.0 * intent * (0.3 + person.buyer)),
            ("/careers", careers_weight),
            ("/customers", 1.0),
            ("/product/connectors", 1.5 if is_technical else 0.5),
        )
        choice = _weighted(rng, options, 1)[0]
        if choice == "blog":
            return rng.choice(data.BLOG_PAGES)
        if choice == "docs":
            return rng.choice(data.DOCS_PAGES)
        return choice

    def _identify(self, t: float, state: _PersonState) -> None:
        if state.identified_at is not None:
            return
        state.identified_at = t
        self.signals["identified"] += 1
        self.signals["buyer_engaged"] = max(self.signals["buyer_engaged"], state.person.buyer)
        message = {
            "type": "identify",
            "anonymousId": state.person.anonymous_id,
            "traits": self._traits(state.person),
            "context": self._web_context("/thank-you", "Thank you"),
        }
        self._emit(t, MARKETING, message)
        if self.account is not None and state.person.email_type == "business":
            # Form enrichment (firmographics looked up from the work email)
            # reports the company with a group call, as analytics.js does.
            account = self.account
            traits = {"name": account.name, "domain": account.domain, "industry": account.industry}
            traits |= {"employees": account.employees, "country": account.country}
            group = {"type": "group", "anonymousId": state.person.anonymous_id, "groupId": account.group_id}
            group |= {"traits": traits, "context": self._web_context("/thank-you", "Thank you")}
            self._emit(t + 0.5, MARKETING, group)

    def _form(self, t: float, state: _PersonState, form_id: str, campaign: str) -> None:
        self._identify(t, state)
        self._web_track(t + 1, state, "Form Submitted", {"form_id": form_id, "campaign": campaign}, f"/{form_id}")

    def _download(self, t: float, state: _PersonState, asset_type: str, asset: str, campaign: str) -> None:
        self._form(t, state, f"gated-{asset_type}", campaign)
        self._web_track(t + 2, state, "Asset Downloaded", {"asset_type": asset_type, "asset": asset})
        self.signals["asset_types"].add(asset_type)

    def _webinar(self, t: float, state: _PersonState) -> None:
        webinar = self.rng.choice(data.WEBINARS)
        self._form(t, state, "webinar-registration", "2025-q4-pipeline-observability-webinar")
        self._web_track(t + 2, state, "Webinar Registered", {"webinar": webinar}, "/webinars")
        if self.rng.random() < 0.35 + 0.5 * state.engagement:
            self._web_track(t + self._gap(5) + DAY, state, "Webinar Attended", {"webinar": webinar}, "/webinars/live")
            self.signals["webinar_attended"] = True

    def _convert(self, t: float, state: _PersonState, campaign: tuple[str, str]) -> None:
        """The first form: how an anonymous visitor becomes a known lead."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.55:
            asset_type, asset = rng.choice(data.ASSETS)
            self._download(t, state, asset_type, asset, campaign[0])
        elif roll < 0.8:
            self._webinar(t, state)
        else:
            self._form(t, state, "newsletter", campaign[0])

    def _product_journey(self, account: DemoAccount, people: list[_PersonState], intent: float) -> None:
        rng = self.rng
        self.signals["trial"] = True
        technical = [s for s in people if s.person.department in ("Data", "Engineering")] or people
        champion = max(technical, key=lambda s: s.engagement + rng.random() * 0.2)
        t = (champion.identified_at or rng.uniform(0, self.horizon * 0.8)) + self._gap(4)
        seats = 1
        self._sign_up(t, champion, account, seats, referred=False)
        self._product(t + 30, champion.person, "Trial Started", {"plan": "team", "trial_days": 14}, account.group_id)

        # Activation: connect a source, run a job, look at the results.
        steps = (("Source Connected", 0.5 + 0.5 * intent), ("Job Run", 0.7 + 0.3 * intent))
        for event, probability in steps:
            if rng.random() > probability:
                return
            t += self._gap(1.5)
            properties = {"connector": rng.choice(data.CONNECTORS)} if event == "Source Connected" else self._job()
            self._product(t, champion.person, event, properties, account.group_id)
        if rng.random() > 0.75 + 0.25 * intent:
            return
        t += self._gap(0.3)
        self._product(t, champion.person, "Results Viewed", {"job_id": self._id()[:8]}, account.group_id)
        if t <= self.horizon:
            self.signals["activated"] = True
            self._strong(t)

        # Team growth: the champion invites colleagues; seats grow.
        active = [(champion, t)]
        invitations = []
        for colleague in people:
            if colleague is champion or rng.random() > 0.3 + 0.7 * intent:
                continue
            t_invite = t + self._gap(6)
            invitations.append((t_invite + self._gap(1), t_invite, colleague))
        # Seats are counted in the order people actually join.
        for t_join, t_invite, colleague in sorted(invitations, key=lambda item: item[0]):
            invite = {"invitee_email": colleague.person.email}
            self._product(t_invite, champion.person, "Invite Sent", invite, account.group_id)
            seats += 1
            self._sign_up(t_join, colleague, account, seats, referred=True)
            added = {"user_id": colleague.person.user_id, "seats": seats}
            self._product(t_join + 5, champion.person, "Account Added User", added, account.group_id)
            active.append((colleague, t_join))

        # Usage: sessions of jobs and results until the user drifts away.
        usage = 0
        for state, joined in active:
            stays = joined + self.horizon * rng.uniform(0.2, 0.5 + intent)
            moment = joined
            while True:
                moment += self._gap(2.0 / (1 + 6 * intent))
                if moment > min(stays, self.horizon):
                    break
                for _ in range(rng.randint(1, 4)):
                    self._product(moment, state.person, "Job Run", self._job(), account.group_id)
                    usage += 1
                if rng.random() < 0.6:
                    self._product(moment + 120, state.person, "Results Viewed", {}, account.group_id)
        joined_by_now = [joined for _, joined in active if joined <= self.horizon]
        self.signals["active_users"] = len(joined_by_now)

        # Limits bite teams, not lone users: the more people, the likelier.
        limit_chance = {0: 0.0, 1: 0.0, 2: 0.25 + 0.4 * intent}.get(len(joined_by_now), 0.5 + 0.5 * intent)
        if usage >= 8 and rng.random() < limit_chance:
            t_limit = max(joined_by_now) + self._gap(5)
            limit = rng.choice(["seats", "rows_synced", "jobs_per_day"])
            self._product(t_limit, champion.person, "Plan Limit Reached", {"limit": limit}, account.group_id)
            if t_limit <= self.horizon:
                self.signals["plan_limit"] = True
                self._strong(t_limit)
            if rng.random() < 0.2 + 0.5 * intent:
                t_upgrade = t_limit + self._gap(4)
                seats += rng.randint(2, 10)
                properties = {"plan": "business", "previous_plan": "team", "seats": seats}
                self._product(t_upgrade, champion.person, "Subscription Upgraded", properties, account.group_id)
                self._group(t_upgrade + 1, champion.person, account, seats, plan="business")
                if t_upgrade <= self.horizon:
                    self.signals["upgraded"] = True

    def _job(self) -> dict:
        status = "succeeded" if self.rng.random() < 0.9 else "failed"
        return {"job_id": self._id()[:8], "status": status, "rows": self.rng.randint(100, 2_000_000)}

    def _sign_up(self, t: float, state: _PersonState, account: DemoAccount | None, seats: int, referred: bool):
        person = state.person
        state.joined_product_at = t
        signup = {
            "type": "track",
            "userId": person.user_id,
            # The web cookie ties the anonymous browsing history to the user.
            "anonymousId": person.anonymous_id,
            "event": "Signed Up",
            "properties": {"method": self.rng.choice(["email", "google"]), "invited": referred},
            "context": {"library": {"name": "analytics-python", "version": "2.3.2"}},
        }
        if account is not None:
            signup["context"]["groupId"] = account.group_id
        self._emit(t, PRODUCT, signup)
        identify = {"type": "identify", "userId": person.user_id, "traits": self._traits(person)}
        identify["context"] = {"library": {"name": "analytics-python", "version": "2.3.2"}}
        self._emit(t + 1, PRODUCT, identify)
        if state.identified_at is None and t <= self.horizon:
            state.identified_at = t
            self.signals["identified"] += 1
            self.signals["buyer_engaged"] = max(self.signals["buyer_engaged"], person.buyer)
        if account is not None:
            self._group(t + 2, person, account, seats, plan="trial")

    def _group(self, t: float, person: DemoPerson, account: DemoAccount, seats: int, plan: str) -> None:
        traits = {
            "name": account.name,
            "domain": account.domain,
            "industry": account.industry,
            "employees": account.employees,
            "country": account.country,
            "plan": plan,
            "seats": seats,
        }
        message = {"type": "group", "userId": person.user_id, "groupId": account.group_id, "traits": traits}
        message["context"] = {"library": {"name": "analytics-python", "version": "2.3.2"}}
        self._emit(t, PRODUCT, message)

    def _company_outcomes(self, account, people, intent: float, segment: str) -> list[DemoOutcome]:
        """Draw the CRM's outcomes from what this company visibly did."""
        rng, s = self.rng, self.signals
        known = [state for state in people if state.identified_at is not None and state.identified_at <= self.horizon]
        if not known:
            return []
        whitepaper_only = s["asset_types"] <= {"whitepaper", "ebook"} and not (
            s["trial"] or s["demo_requested"] or s["pricing_views"]
        )
        logit = (
            -4.0
            + 1.5 * s["activated"]
            + 1.4 * s["plan_limit"]
            + 0.25 * min(s["active_users"], 6)
            + 0.35 * min(s["pricing_views"], 3)
            + 1.3 * s["demo_requested"]
            + 0.4 * s["webinar_attended"]
            + 0.9 * s["buyer_engaged"]
            - 0.6 * whitepaper_only
            + 1.2 * (intent - 0.3)  # what nobody can observe
        )
        if rng.random() > _sigmoid(logit):
            return []
        champion = max(known, key=lambda state: state.person.buyer + state.engagement)
        if champion.person.email_type != "business" and rng.random() < 0.7:
            return []  # sales rarely works a gmail address, even at a real company
        anchor = self.strong_signal_at if self.strong_signal_at is not None else champion.identified_at
        t_meeting = anchor + rng.uniform(1, 10) * DAY
        if t_meeting > self.horizon:
            return []
        outcomes = [self._outcome("meeting", champion, account, t_meeting, None)]
        if rng.random() > 0.45 + 0.25 * s["activated"] + 0.15 * s["plan_limit"]:
            return outcomes
        low, high = {"smb": (6_000, 18_000), "mid_market": (20_000, 80_000), "enterprise": (60_000, 300_000)}[segment]
        amount = Decimal(round(rng.uniform(low, high) * (1 + 0.1 * s["active_users"]), -2))
        t_opportunity = t_meeting + rng.uniform(3, 14) * DAY
        if t_opportunity > self.horizon:
            return outcomes
        outcomes.append(self._outcome("opportunity", champion, account, t_opportunity, amount))
        t_close = t_opportunity + rng.uniform(14, 45) * DAY
        if t_close > self.horizon:
            return outcomes  # still open
        won = rng.random() < _sigmoid(
            -0.6 + 1.3 * s["plan_limit"] + 0.7 * s["activated"] + 0.6 * s["demo_requested"] + 1.0 * (intent - 0.3)
        )
        outcomes.append(self._outcome("closed_won" if won else "closed_lost", champion, account, t_close, amount))
        return outcomes

    def _outcome(self, kind, state: _PersonState, account, t: float, amount) -> DemoOutcome:
        return DemoOutcome(
            kind=kind,
            external_id=f"demo-{self.spec.seed}-{self.index}-{kind}",
            email=state.person.email,
            group_id=account.group_id if account else None,
            amount=amount,
            occurred_at=self.spec.start + timedelta(seconds=round(t)),
        )

    # --- a lone visitor ---------------------------------------------------------
    def run_lone_visitor(self) -> Unit:
        """A student or someone on free mail: plenty of activity, almost never revenue."""
        rng = self.rng
        first, last = self._name()
        if rng.random() < 0.45:
            university, country = rng.choice(data.UNIVERSITIES)
            email = f"{_slug(first[0] + last)}{self.index}@{university}"
            title, email_type, buyer = rng.choice(data.STUDENT_TITLES), "student", 0.0
        else:
            country = _weighted(rng, data.COUNTRIES, 2)[0]
            email = f"{self._free_mail_local(first, last, 0)}@{rng.choice(data.FREE_MAIL)}"
            title, email_type, buyer = rng.choice(data.HOBBYIST_TITLES), "free", 0.05
        person = self._person(
            email=email,
            first=first,
            last=last,
            title=title,
            department="",
            seniority="Student" if email_type == "student" else "",
            country=country,
            phone="",
            email_type=email_type,
            buyer=buyer,
        )
        # Curious and busy: they read docs, download everything, try the product.
        curiosity = rng.uniform(0.2, 0.9)
        state = _PersonState(person, curiosity)
        self._marketing_journey(state, rng.uniform(0, self.horizon * 0.9), intent=0.15)
        if rng.random() < 0.35:
            t = (state.identified_at or rng.uniform(0, self.horizon)) + self._gap(3)
            self._sign_up(t, state, None, 1, referred=False)
            self._product(t + 30, person, "Trial Started", {"plan": "team", "trial_days": 14}, None)
            for event in ("Source Connected", "Job Run", "Results Viewed"):
                if rng.random() > 0.7:
                    break
                t += self._gap(1)
                properties = {"connector": "postgres"} if event == "Source Connected" else self._job()
                self._product(t, person, event, properties, None)
        outcomes: list[DemoOutcome] = []
        if email_type == "free" and state.identified_at is not None and rng.random() < 0.02:
            # The odd founder on gmail who does take a call.
            when = state.identified_at + rng.uniform(2, 10) * DAY
            if when <= self.horizon:
                outcomes.append(self._outcome("meeting", state, None, when, None))
        return self._unit(None, [state], outcomes)

    def _unit(self, account, people: list[_PersonState], outcomes: list[DemoOutcome]) -> Unit:
        self.pending.sort(key=lambda item: (item[0], item[1]))
        signals = dict(self.signals, asset_types=sorted(self.signals["asset_types"]))
        return Unit(
            index=self.index,
            account=account,
            people=tuple(state.person for state in people),
            messages=tuple((kind, message) for _, _, kind, message in self.pending),
            outcomes=tuple(outcomes),
            signals=signals,
        )
