"""The recorder of one simulated unit, and the building blocks every journey
uses: ids, timestamps, Segment messages (page, track, identify, group),
people, sign-ups, outcomes. Journeys live in marketing.py, company.py and
visitor.py and call these in a fixed order, so one seed gives one world."""

import math
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from leads.demo import data
from leads.demo.spec import DAY, MARKETING, PRODUCT, SITE, DemoAccount, DemoOutcome, DemoPerson, Unit, WorldSpec


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def weighted(rng: random.Random, items, weight_index: int):
    return rng.choices(items, weights=[item[weight_index] for item in items], k=1)[0]


def slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


@dataclass
class PersonState:
    person: DemoPerson
    engagement: float
    identified_at: float | None = None
    unsubscribed: bool = False
    joined_product_at: float | None = None


class Simulation:
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
    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def timestamp(self, t: float) -> str:
        t = min(max(t, 0.0), self.horizon)
        moment = self.spec.start + timedelta(seconds=round(t, 3))
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def emit(self, t: float, kind: str, message: dict) -> None:
        if t > self.horizon:
            return  # in the future: it has not happened yet
        message["messageId"] = self.new_id()
        message["timestamp"] = self.timestamp(t)
        self.pending.append((t, len(self.pending), kind, message))

    def web_context(self, path: str, title: str, campaign: tuple[str, str] | None = None) -> dict:
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

    def page(self, t: float, state: PersonState, path: str, campaign=None) -> None:
        title = path.strip("/").replace("-", " ").replace("/", " · ").title() or "Home"
        message = {
            "type": "page",
            "anonymousId": state.person.anonymous_id,
            "name": title,
            "properties": {"path": path, "url": SITE + path, "title": title, "referrer": ""},
            "context": self.web_context(path, title, campaign),
        }
        self.emit(t, MARKETING, message)
        if path == "/pricing":
            self.signals["pricing_views"] += 1
            if self.signals["pricing_views"] == 2:
                self.strong_signal(t)
        elif path == "/careers":
            self.signals["careers_views"] += 1

    def web_track(self, t: float, state: PersonState, event: str, properties: dict, path: str = "/") -> None:
        message = {
            "type": "track",
            "anonymousId": state.person.anonymous_id,
            "event": event,
            "properties": properties,
            "context": self.web_context(path, event),
        }
        self.emit(t, MARKETING, message)

    def traits(self, person: DemoPerson) -> dict:
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

    def product_track(self, t: float, person: DemoPerson, event: str, properties: dict, group_id: str | None) -> None:
        context = {"library": {"name": "analytics-python", "version": "2.3.2"}}
        if group_id:
            context["groupId"] = group_id
        message = {"type": "track", "userId": person.user_id, "event": event, "properties": properties}
        message["context"] = context
        self.emit(t, PRODUCT, message)

    def strong_signal(self, t: float) -> None:
        if t <= self.horizon and (self.strong_signal_at is None or t < self.strong_signal_at):
            self.strong_signal_at = t

    def gap(self, mean_days: float) -> float:
        return self.rng.expovariate(1.0 / (mean_days * DAY))

    # --- people --------------------------------------------------------------
    def person_name(self) -> tuple[str, str]:
        return self.rng.choice(data.FIRST_NAMES), self.rng.choice(data.LAST_NAMES)

    def phone(self, prefix: str) -> str:
        if self.rng.random() < 0.4:
            return ""
        return f"{prefix} {self.rng.randint(200, 989)} {self.rng.randint(100, 999)} {self.rng.randint(1000, 9999)}"

    def person(self, *, email, first, last, title, department, seniority, country, phone, email_type, buyer):
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
            anonymous_id=self.new_id(),
            user_id="usr_" + uuid.UUID(int=self.rng.getrandbits(128)).hex[:16],
            buyer=buyer,
        )

    def free_mail_local(self, first: str, last: str, serial: int) -> str:
        # The unit index makes the address unique across the whole world.
        return f"{slug(first)}.{slug(last)}{self.index * 100 + serial}"

    # --- product messages ----------------------------------------------------
    def job(self) -> dict:
        status = "succeeded" if self.rng.random() < 0.9 else "failed"
        return {"job_id": self.new_id()[:8], "status": status, "rows": self.rng.randint(100, 2_000_000)}

    def sign_up(self, t: float, state: PersonState, account: DemoAccount | None, seats: int, referred: bool):
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
        self.emit(t, PRODUCT, signup)
        identify = {"type": "identify", "userId": person.user_id, "traits": self.traits(person)}
        identify["context"] = {"library": {"name": "analytics-python", "version": "2.3.2"}}
        self.emit(t + 1, PRODUCT, identify)
        if state.identified_at is None and t <= self.horizon:
            state.identified_at = t
            self.signals["identified"] += 1
            self.signals["buyer_engaged"] = max(self.signals["buyer_engaged"], person.buyer)
        if account is not None:
            self.group(t + 2, person, account, seats, plan="trial")

    def group(self, t: float, person: DemoPerson, account: DemoAccount, seats: int, plan: str) -> None:
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
        self.emit(t, PRODUCT, message)

    # --- what the unit hands out ----------------------------------------------
    def outcome(self, kind, state: PersonState, account, t: float, amount) -> DemoOutcome:
        return DemoOutcome(
            kind=kind,
            external_id=f"demo-{self.spec.seed}-{self.index}-{kind}",
            email=state.person.email,
            group_id=account.group_id if account else None,
            amount=amount,
            occurred_at=self.spec.start + timedelta(seconds=round(t)),
        )

    def unit(self, account, people: list[PersonState], outcomes: list[DemoOutcome]) -> Unit:
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
