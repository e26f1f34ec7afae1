"""A history where every calibration figure is known by hand (shared by the calibration tests).

The version: a demo request is worth 40 points, an attended webinar 10; MQL at 30; a "Trial"
PQL path for anyone who started a trial. As of 1 March, ten candidates, judged on the 30 days
after (won: L1, L2, L5; opportunity or a deal: L1, L2, L3, L5, L7):

    lead  score  MQL  PQL    outcome in the horizon
    L1    50     yes         won
    L2    40     yes         won
    L3    40     yes         opportunity
    L4    40     yes         -
    L5    10          Trial  won
    L6    10                 -
    L7     0          Trial  opportunity
    L8-10  0                 -

One horizon earlier (30 January), six earlier candidates, all out of the picture by 1 March
(won, or disqualified): score 40, one of two won; score 0, one of four won. The logistic curve
fitted on them goes exactly through 1/2 at 40 and 1/4 at 0.
"""

import math

from leads.models import StageChange
from scoring.services.versions import rule_version_create_from_document
from tests.insights.history import AS_OF, days, lead, outcome, track

HORIZON = 30
VERSION = {
    "schema": 1,
    "thresholds": {
        "mql": {"fit_min": 0, "engagement_min": 30, "total_min": 30},
        "hot": {"total_min": 100},
        "grades": {"A": 60, "B": 40, "C": 20},
    },
    "fit_rules": [],
    "engagement_rules": [
        {"name": "Demo requested", "points": 40, "event": "Demo Requested", "max_count": 1, "window_days": 60},
        {"name": "Webinar attended", "points": 10, "event": "Webinar Attended", "max_count": 1, "window_days": 60},
    ],
    "negative_rules": [],
    "pql_paths": [
        {
            "name": "Trial",
            "kind": "activation",
            "events": ["Trial Started"],
            "within_days": 14,
            "lookback_days": 60,
            "scope": "lead",
        }
    ],
}
# The curve through (0, 1/4) and (40, 1/2): p(s) = 1 / (1 + exp(-(A + B s))).
A = math.log(1 / 3)
B = -A / 40


def probability(score: float) -> float:
    return 1 / (1 + math.exp(-(A + B * score)))


def calibration_version():
    return rule_version_create_from_document(name="Demo and webinar", document=VERSION)


def _candidate(number: int, events: list[str], result: str | None):
    person = lead(f"l{number}@co{number}.example", seen=AS_OF - days(25))
    for name in events:
        track(person, name, AS_OF - days(20))
    if result:
        outcome(result, AS_OF + days(10), person=person)
    return person


def _earlier(number: int, has_demo: bool, is_won: bool):
    person = lead(f"e{number}@old{number}.example", seen=AS_OF - days(50))
    if has_demo:
        track(person, "Demo Requested", AS_OF - days(40))
    if is_won:
        outcome("closed_won", AS_OF - days(20), person=person)
    else:
        StageChange.objects.create(
            lead=person, from_stage="new", to_stage="disqualified", changed_at=AS_OF - days(2), actor_label="test"
        )
    return person


def calibration_history() -> dict:
    leads = {
        "L1": _candidate(1, ["Demo Requested", "Webinar Attended"], "closed_won"),
        "L2": _candidate(2, ["Demo Requested"], "closed_won"),
        "L3": _candidate(3, ["Demo Requested"], "opportunity"),
        "L4": _candidate(4, ["Demo Requested"], None),
        "L5": _candidate(5, ["Webinar Attended", "Trial Started"], "closed_won"),
        "L6": _candidate(6, ["Webinar Attended"], None),
        "L7": _candidate(7, ["Trial Started"], "opportunity"),
        "L8": _candidate(8, [], None),
        "L9": _candidate(9, [], None),
        "L10": _candidate(10, [], None),
    }
    for number, (has_demo, is_won) in enumerate(
        [(True, True), (True, False), (False, True), (False, False), (False, False), (False, False)], start=1
    ):
        _earlier(number, has_demo, is_won)
    return leads
