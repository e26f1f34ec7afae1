"""How fast the pure scoring engine scores one lead: prints `engine_leads_per_s: N`.

Synthetic facts shaped like the demo world: each lead has about 30 events in the window
(marketing and product, a third of them its colleagues' account-level events), a fitting or
non-fitting profile, and an account with a seats history. The default rule version is used.
No database: this measures the engine alone, the upper bound for a full rescore per process.

    .venv/bin/python bench/scoring_engine.py [--leads 20000] [--events 30] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.engine import (  # noqa: E402 - after the path tweak, so it runs from anywhere
    DEFAULT_RULES,
    AccountFacts,
    EventFacts,
    LeadFacts,
    ScoringFacts,
    compile_version,
    evaluate,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
MARKETING = [
    ("track", "Form Submitted", {"form_id": "contact", "campaign": "spring"}),
    ("track", "Webinar Registered", {"webinar": "pipelines"}),
    ("track", "Webinar Attended", {"webinar": "pipelines"}),
    ("track", "Asset Downloaded", {"asset_type": "whitepaper"}),
    ("track", "Asset Downloaded", {"asset_type": "checklist"}),
    ("track", "Email Link Clicked", {}),
    ("page", None, {"path": "/pricing"}),
    ("page", None, {"path": "/docs/getting-started"}),
    ("page", None, {"path": "/blog/etl"}),
    ("page", None, {"path": "/careers"}),
]
PRODUCT = ["Signed Up", "Trial Started", "Source Connected", "Job Run", "Job Run", "Results Viewed", "Invite Sent"]
TITLES = ["VP Data", "Data Engineer", "Head of Analytics", "Student", "Marketing Manager", "CTO"]
INDUSTRIES = ["Software", "Retail", "Education", "Financial Services", "Manufacturing"]


def synthetic_facts(rng: random.Random, index: int, events_per_lead: int) -> ScoringFacts:
    events = []
    for number in range(events_per_lead):
        timestamp = NOW - timedelta(hours=rng.uniform(0, 24 * 80))
        account_level = number % 3 == 0
        user = f"colleague-{rng.randrange(8)}" if account_level else f"lead-{index}"
        if rng.random() < 0.6:
            kind, name, properties = rng.choice(MARKETING)
        else:
            kind, name, properties = "track", rng.choice(PRODUCT), {}
        events.append(
            EventFacts(
                id=index * 1000 + number,
                type=kind,
                name=name,
                timestamp=timestamp,
                properties=dict(properties),
                user_key=user,
                is_account_level=account_level,
            )
        )
    lead = LeadFacts(
        id=index,
        attributes={
            "title": rng.choice(TITLES),
            "department": rng.choice(["Data", "Marketing", "Engineering"]),
            "country": rng.choice(["US", "DE", "BR"]),
            "email_type": rng.choice(["business", "business", "free", "student"]),
            "email_domain": "example.com",
            "is_unsubscribed": rng.random() < 0.05,
        },
    )
    account = AccountFacts(
        id=index // 5,
        attributes={
            "industry": rng.choice(INDUSTRIES),
            "employee_count": rng.choice([8, 40, 300, 2000, 20000]),
            "country": "US",
            "segment": rng.choice(["smb", "mid_market", "enterprise"]),
        },
        seats_history=((NOW - timedelta(days=40), 5), (NOW - timedelta(days=5), rng.choice([5, 6, 9]))),
    )
    return ScoringFacts(lead=lead, account=account, events=tuple(events), now=NOW)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20000)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    compiled = compile_version(DEFAULT_RULES, version_id="bench")
    best = float("inf")
    qualified = 0
    for round_number in range(arguments.rounds):
        # Fresh facts each round: their lazily derived fields are part of the engine's cost.
        rng = random.Random(round_number)
        leads = [synthetic_facts(rng, index, arguments.events) for index in range(arguments.leads)]
        # CPU time of this process, so other work on the machine does not skew the figure.
        started = time.process_time()
        qualified = sum(evaluate(compiled, facts).stage is not None for facts in leads)
        best = min(best, time.process_time() - started)
    print(f"engine_leads_per_s: {arguments.leads / best:.0f}")
    print(f"engine_ms_per_lead: {best * 1000 / arguments.leads:.3f}")
    print(f"engine_qualified_share: {qualified / arguments.leads:.2f}")


if __name__ == "__main__":
    main()
