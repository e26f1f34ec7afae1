"""What a rule version needs loaded: context only when a rule reads it; which events move a whole account."""

from scoring.engine import compile_version, default_rules
from scoring.selectors import account_signals


def test_the_default_rules_read_no_event_context():
    assert not account_signals(compile_version(default_rules())).uses_context


def test_a_rule_on_the_event_context_makes_the_context_load():
    document = default_rules()
    document["engagement_rules"].append(
        {
            "name": "Came from a paid campaign",
            "points": 5,
            "event": "Form Submitted",
            "when": {"field": "context.campaign.medium", "op": "eq", "value": "cpc"},
        }
    )

    assert account_signals(compile_version(document)).uses_context


def test_product_events_and_group_calls_move_the_whole_account_but_a_form_does_not():
    signals = account_signals(compile_version(default_rules()))

    assert signals.affects_account(kind="track", name="Plan Limit Reached")
    assert signals.affects_account(kind="group", name="")
    assert not signals.affects_account(kind="track", name="Form Submitted")
