"""Does a lead fall in a territory? With the reason in words when it does not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conditions.explain import show_value
from routing.engine.facts import Territory

_LIST_LIMIT = 8


def _listed(values) -> str:
    shown = sorted(values)
    text = ", ".join(shown[:_LIST_LIMIT])
    return text + (f" and {len(shown) - _LIST_LIMIT} more" if len(shown) > _LIST_LIMIT else "")


def _first_known(context: Mapping[str, Any], *paths: tuple[str, str]) -> tuple[str, Any]:
    """(path, value) of the first of `paths` with a value; the first path when none has one."""
    for root, key in paths:
        value = (context.get(root) or {}).get(key)
        if value not in (None, ""):
            return f"{root}.{key}", value
    root, key = paths[0]
    return f"{root}.{key}", None


def _band(low: int | None, high: int | None) -> str:
    if low is None and high is None:
        return "any size"
    if high is None:
        return f"{low}+"
    if low is None:
        return f"up to {high}"
    return f"{low}-{high}"


def territory_match(territory: Territory, context: Mapping[str, Any]) -> tuple[bool, str]:
    """(matched, reason) for a routing context {"lead": ..., "account": ...}.

    Country and region come from the account, or from the lead when the account does not say;
    industry and employee count from the account. A dimension the territory leaves empty
    matches anything; a dimension it constrains fails when the lead's value is unknown.
    """
    name = territory.name
    reasons = []
    if territory.countries:
        path, value = _first_known(context, ("account", "country"), ("lead", "country"))
        code = str(value).strip().upper() if value is not None else None
        if code not in territory.countries:
            shown = code if code else "unknown"
            return False, f"{path} {shown} not in territory {name} countries ({_listed(territory.countries)})"
        reasons.append(f"{path} {code}")
    if territory.regions:
        path, value = _first_known(context, ("account", "region"), ("lead", "region"))
        region = str(value).strip().casefold() if value is not None else None
        if region not in territory.regions:
            shown = show_value(value)
            return False, f"{path} {shown} not in territory {name} regions ({_listed(territory.regions)})"
        reasons.append(f"{path} {show_value(value)}")
    if territory.industries:
        path, value = _first_known(context, ("account", "industry"))
        industry = str(value).strip().casefold() if value is not None else None
        if industry not in territory.industries:
            shown = show_value(value)
            return False, f"{path} {shown} not in territory {name} industries ({_listed(territory.industries)})"
        reasons.append(f"{path} {show_value(value)}")
    if territory.employee_bands:
        path, value = _first_known(context, ("account", "employee_count"))
        number = value if type(value) in (int, float) else None
        bands = ", ".join(_band(low, high) for low, high in territory.employee_bands)
        if number is None or not any(
            (low is None or number >= low) and (high is None or number <= high)
            for low, high in territory.employee_bands
        ):
            return False, f"{path} {show_value(value)} not in territory {name} employee bands ({bands})"
        reasons.append(f"{path} {show_value(value)}")
    if not reasons:
        return True, f"territory {name} covers everyone"
    return True, f"in territory {name} ({', '.join(reasons)})"
