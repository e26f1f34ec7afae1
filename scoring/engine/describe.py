"""Plain-language stage definitions generated from a rule version.

The seeds insist that definitions be written and shared; the stage definitions page renders
`describe(version)` of the live version so the words can never drift from the rules. The
conditions inside the rules are put in words by the condition language (conditions/describe.py).
"""

from __future__ import annotations

from typing import Any

from conditions.describe import describe_condition, one_of, show_value
from scoring.engine.rules import DEFAULT_LOOKBACK_DAYS, DEFAULT_PLAN_LIMIT_EVENT, DEFAULT_WINDOW_DAYS


def _days(days: Any) -> str:
    return "1 day" if days == 1 else f"{days:g} days"


def _points(points: Any) -> str:
    return f"{points:+g} points"


def _event_subject(rule: dict) -> str:
    names = rule.get("event")
    if isinstance(names, str):
        names = [names]
    if names:
        subject = f"each {one_of(names)} event"
    elif rule.get("event_type") == "page":
        subject = "each page view"
    else:
        subject = f"each {rule.get('event_type', 'any')} event"
    if names and rule.get("event_type"):
        subject += f" (a {rule['event_type']} call)"
    return subject


def describe_rule(kind: str, rule: dict) -> str:
    """One sentence for a fit, engagement or negative rule."""
    if "when" in rule and "event" not in rule and "event_type" not in rule:
        bucket = rule.get("bucket", "fit")
        where = "" if kind == "fit" else f" (to the {bucket} score)"
        return f"{_points(rule['points'])}{where} when {describe_condition(rule['when'])}."
    text = f"{_points(rule['points'])} for {_event_subject(rule)}"
    if "when" in rule:
        text += f" where {describe_condition(rule['when'])}"
    if rule.get("scope") == "account":
        text += ", by anyone on the account"
    caps = []
    if "max_count" in rule:
        caps.append("counted at most once" if rule["max_count"] == 1 else f"counted at most {rule['max_count']} times")
    if "max_points" in rule:
        caps.append(f"at most {rule['max_points']:g} points in all")
    if caps:
        text += ", " + ", ".join(caps)
    text += f", in the last {_days(rule.get('window_days', DEFAULT_WINDOW_DAYS))}"
    if "half_life_days" in rule:
        text += f"; an event's points halve every {_days(rule['half_life_days'])}"
    return text + "."


def describe_path(path: dict) -> str:
    """One sentence for a PQL path."""
    kind = path.get("kind")
    by_account = path.get("scope", "lead" if kind == "activation" else "account") == "account"
    who = "someone on the account" if by_account else "the lead"
    if kind == "activation":
        order = "in that order" if path.get("ordered") else "in any order"
        lookback = path.get("lookback_days", DEFAULT_LOOKBACK_DAYS)
        text = (
            f"{who} completed {one_of(path['events'], 'and')} ({order}), all within "
            f"{_days(path['within_days'])} of each other, in the last {_days(lookback)}"
        )
    elif kind == "usage_depth":
        events = path.get("events")
        activity = f"did any of {one_of(events)}" if events else "did anything"
        if "min_active_users" in path:
            text = f"at least {path['min_active_users']} different people on the account {activity}"
        else:
            text = f"{who} did {one_of(events)} at least {path['min_events']} times"
        if "when" in path:
            text += f" (only events where {describe_condition(path['when'])})"
        text += f" in the last {_days(path['within_days'])}"
    elif kind == "seat_growth":
        text = f"the account added at least {path['min_increase']} seats within {_days(path['within_days'])}"
    elif kind == "plan_limit":
        event = path.get("event", DEFAULT_PLAN_LIMIT_EVENT)
        text = f"{who} reached a plan limit ({show_value(event)}) in the last {_days(path['within_days'])}"
    else:
        return "(unknown path kind)"
    conditions = []
    if "segments" in path:
        conditions.append(f"for accounts in the {one_of(path['segments'])} segment")
    if "fit_min" in path:
        conditions.append(f"if the lead's fit score is at least {path['fit_min']:g}")
    prefix = (", ".join(conditions) + ": ") if conditions else ""
    sentence = prefix + text
    return sentence[0].upper() + sentence[1:] + "."


def describe(version: dict) -> dict[str, Any]:
    """Plain-language stage definitions for a (validated) rule version document."""
    thresholds = version["thresholds"]
    mql = thresholds["mql"]
    grades = thresholds["grades"]
    hot = thresholds.get("hot")
    paths = version.get("pql_paths", [])
    return {
        "mql": (
            f"A lead is a marketing-qualified lead (MQL) when its fit score is at least {mql['fit_min']:g}, "
            f"its engagement score is at least {mql['engagement_min']:g} "
            f"and the two add up to at least {mql['total_min']:g}."
        ),
        "pql": (
            "A lead is a product-qualified lead (PQL) when any of the paths below holds; the first one that "
            "holds is recorded. Account signals count for every lead of the account. PQL outranks MQL."
            if paths
            else "This version defines no PQL paths, so no lead becomes a PQL."
        ),
        "pql_paths": [
            {"name": path["name"], "definition": describe_path(path), "description": path.get("description", "")}
            for path in paths
        ],
        "hot": (
            f"A lead is hot (worked first) when its total score is at least {hot['total_min']:g}."
            if hot
            else "This version has no hot threshold."
        ),
        "grades": (
            f"Fit grade A at {grades['A']:g} or more, B at {grades['B']:g}, C at {grades['C']:g}, D below that."
        ),
        "scores": (
            "Fit counts who the lead is (role, company, email); engagement counts what the lead did, recent "
            "activity counting most; negative rules take points away; the total is fit plus engagement."
        ),
        "rules": [
            {
                "section": section,
                "name": rule["name"],
                "points": rule["points"],
                "definition": describe_rule(section.removesuffix("_rules"), rule),
                "description": rule.get("description", ""),
            }
            for section in ("fit_rules", "engagement_rules", "negative_rules")
            for rule in version.get(section, [])
        ],
    }


# --- why a rule fired: a score explanation's hits in words ----------------------------------


def _times_word(count: int) -> str:
    return {1: "Once", 2: "Twice"}.get(count, f"{count} times")


def _days_before_scoring(days: Any) -> str:
    if not isinstance(days, int | float) or days < 1:
        return "on the day it was scored"
    whole = round(days)
    return f"{'1 day' if whole == 1 else f'{whole} days'} before it was scored"


def describe_hit(hit: dict, rule: dict | None = None) -> str:
    """The evidence of one rule that fired (a `RuleHit.to_dict()`), in words.

    `rule` is the rule's document from the version that scored (for its window);
    attribute rules say the values that made them fire ("the lead's title is 'VP Data'"),
    event rules how often, how recently and what decay left of their points.
    """
    evidence = hit.get("evidence") or {}
    if "values" in evidence:
        # An empty text is what a missing trait looks like: it did not make the rule fire.
        values = {field: value for field, value in (evidence["values"] or {}).items() if value not in ("", None)}
        if not values:
            return "Its condition holds."
        sentence = "; ".join(
            describe_condition({"field": field, "op": "eq", "value": value}) for field, value in values.items()
        )
        return sentence[0].upper() + sentence[1:] + "."
    count = hit.get("count") or 0
    window = (rule or {}).get("window_days", DEFAULT_WINDOW_DAYS)
    text = f"{_times_word(count)} in the last {_days(window)}"
    if "last_days_ago" in evidence:
        text += f", the latest {_days_before_scoring(evidence['last_days_ago'])}"
    matched = evidence.get("matched")
    if isinstance(matched, int) and matched > count:
        text += f" ({matched} matched; the {count} most recent count)"
    if "decayed_from" in evidence and evidence["decayed_from"] != hit.get("points"):
        text += f"; worth {evidence['decayed_from']:g} before older events faded"
    return text + "."
