"""A lone visitor: a student or someone on free mail, busy but almost never revenue."""

from leads.demo import data
from leads.demo.marketing import marketing_journey
from leads.demo.simulation import PersonState, Simulation, slug, weighted
from leads.demo.spec import DAY, DemoOutcome, Unit


def lone_visitor_simulate(sim: Simulation) -> Unit:
    """A student or someone on free mail: plenty of activity, almost never revenue."""
    rng = sim.rng
    first, last = sim.person_name()
    if rng.random() < 0.45:
        university, country = rng.choice(data.UNIVERSITIES)
        email = f"{slug(first[0] + last)}{sim.index}@{university}"
        title, email_type, buyer = rng.choice(data.STUDENT_TITLES), "student", 0.0
    else:
        country = weighted(rng, data.COUNTRIES, 2)[0]
        email = f"{sim.free_mail_local(first, last, 0)}@{rng.choice(data.FREE_MAIL)}"
        title, email_type, buyer = rng.choice(data.HOBBYIST_TITLES), "free", 0.05
    person = sim.person(
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
    state = PersonState(person, curiosity)
    marketing_journey(sim, state, rng.uniform(0, sim.horizon * 0.9), intent=0.15)
    if rng.random() < 0.35:
        t = (state.identified_at or rng.uniform(0, sim.horizon)) + sim.gap(3)
        sim.sign_up(t, state, None, 1, referred=False)
        sim.product_track(t + 30, person, "Trial Started", {"plan": "team", "trial_days": 14}, None)
        for event in ("Source Connected", "Job Run", "Results Viewed"):
            if rng.random() > 0.7:
                break
            t += sim.gap(1)
            properties = {"connector": "postgres"} if event == "Source Connected" else sim.job()
            sim.product_track(t, person, event, properties, None)
    outcomes: list[DemoOutcome] = []
    if email_type == "free" and state.identified_at is not None and rng.random() < 0.02:
        # The odd founder on gmail who does take a call.
        when = state.identified_at + rng.uniform(2, 10) * DAY
        if when <= sim.horizon:
            outcomes.append(sim.outcome("meeting", state, None, when, None))
    return sim.unit(None, [state], outcomes)
