"""The outcome draw: the CRM's meetings, opportunities and closed deals of a
company, drawn from what it visibly did plus a little hidden intent."""

from decimal import Decimal

from leads.demo.simulation import Simulation, sigmoid
from leads.demo.spec import DAY, DemoOutcome


def company_outcomes_draw(sim: Simulation, account, people, intent: float, segment: str) -> list[DemoOutcome]:
    """Draw the CRM's outcomes from what this company visibly did."""
    rng, s = sim.rng, sim.signals
    known = [state for state in people if state.identified_at is not None and state.identified_at <= sim.horizon]
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
    if rng.random() > sigmoid(logit):
        return []
    champion = max(known, key=lambda state: state.person.buyer + state.engagement)
    if champion.person.email_type != "business" and rng.random() < 0.7:
        return []  # sales rarely works a gmail address, even at a real company
    anchor = sim.strong_signal_at if sim.strong_signal_at is not None else champion.identified_at
    t_meeting = anchor + rng.uniform(1, 10) * DAY
    if t_meeting > sim.horizon:
        return []
    outcomes = [sim.outcome("meeting", champion, account, t_meeting, None)]
    if rng.random() > 0.45 + 0.25 * s["activated"] + 0.15 * s["plan_limit"]:
        return outcomes
    low, high = {"smb": (6_000, 18_000), "mid_market": (20_000, 80_000), "enterprise": (60_000, 300_000)}[segment]
    amount = Decimal(round(rng.uniform(low, high) * (1 + 0.1 * s["active_users"]), -2))
    t_opportunity = t_meeting + rng.uniform(3, 14) * DAY
    if t_opportunity > sim.horizon:
        return outcomes
    outcomes.append(sim.outcome("opportunity", champion, account, t_opportunity, amount))
    t_close = t_opportunity + rng.uniform(14, 45) * DAY
    if t_close > sim.horizon:
        return outcomes  # still open
    won = rng.random() < sigmoid(
        -0.6 + 1.3 * s["plan_limit"] + 0.7 * s["activated"] + 0.6 * s["demo_requested"] + 1.0 * (intent - 0.3)
    )
    outcomes.append(sim.outcome("closed_won" if won else "closed_lost", champion, account, t_close, amount))
    return outcomes
