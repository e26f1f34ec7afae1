"""What the demo world is made of: its spec, the message vocabulary and the
frozen records a simulated unit hands out. Pure Python, no Django."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

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
