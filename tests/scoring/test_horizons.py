"""Which events a rule version reads, and how far back: what a rescore must load."""

from scoring.engine import compile_version, default_rules
from scoring.engine.horizons import event_horizons


def _version(**sections) -> dict:
    document = default_rules()
    for section in ("fit_rules", "engagement_rules", "negative_rules", "pql_paths"):
        document[section] = sections.get(section, [])
    return document


def test_the_default_rules_read_each_event_only_as_far_back_as_its_widest_rule():
    horizons = event_horizons(compile_version(default_rules()))

    assert horizons.names["Form Submitted"] == 90
    assert horizons.names["Email Link Clicked"] == 30
    assert horizons.types["page"] == 30
    assert horizons.names["Plan Limit Reached"] == 7
    # Job Run counts for activation (its lookback) and team usage (7 days): the wider wins.
    assert horizons.names["Job Run"] == max(7, horizons.names["Source Connected"])
    assert horizons.any_event_days is None


def test_events_no_rule_names_are_never_read():
    horizons = event_horizons(compile_version(default_rules()))

    assert not horizons.needs(type="identify", name=None, age_days=0)
    assert not horizons.needs(type="group", name=None, age_days=0)
    assert not horizons.needs(type="track", name="Order Shipped", age_days=0)
    assert horizons.needs(type="page", name=None, age_days=29)
    assert not horizons.needs(type="page", name=None, age_days=31)


def test_only_events_a_condition_looks_into_need_their_properties():
    horizons = event_horizons(compile_version(default_rules()))

    assert horizons.needs_details(type="page", name=None)  # pricing, docs, careers read properties.path
    assert horizons.needs_details(type="track", name="Asset Downloaded")  # asset_type
    assert not horizons.needs_details(type="track", name="Job Run")
    assert not horizons.detail_any


def test_a_path_on_every_event_reads_every_event_back_to_its_window():
    document = _version(
        engagement_rules=[{"name": "Any track call", "points": 1, "event_type": "track", "window_days": 45}],
        pql_paths=[{"name": "Busy", "kind": "usage_depth", "min_active_users": 3, "within_days": 10}],
    )

    horizons = event_horizons(compile_version(document))

    assert horizons.any_event_days == 10
    assert horizons.needs(type="identify", name=None, age_days=9)
    assert not horizons.needs(type="identify", name=None, age_days=11)
    assert horizons.needs(type="track", name="Anything", age_days=44)
    assert [(group.days, group.any_event) for group in horizons.groups()] == [(45, False), (10, True)]


def test_a_path_condition_on_any_event_needs_every_events_properties():
    document = _version(
        pql_paths=[
            {
                "name": "Exporters",
                "kind": "usage_depth",
                "min_active_users": 3,
                "within_days": 14,
                "when": {"field": "properties.rows", "op": "gte", "value": 1000},
            }
        ]
    )

    horizons = event_horizons(compile_version(document))

    assert horizons.detail_any


def test_seat_growth_reads_no_events():
    document = _version(pql_paths=[{"name": "Seats", "kind": "seat_growth", "min_increase": 3, "within_days": 30}])

    horizons = event_horizons(compile_version(document))

    assert horizons.names == {} and horizons.types == {} and horizons.any_event_days is None
    assert horizons.groups() == []
