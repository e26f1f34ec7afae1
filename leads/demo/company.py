"""One company: its account, its people, their marketing journeys, the trial
and team growth in the product, and the outcomes that follow."""

import math

from leads.demo import data
from leads.demo.marketing import marketing_journey
from leads.demo.outcomes import company_outcomes_draw
from leads.demo.simulation import PersonState, Simulation, slug, weighted
from leads.demo.spec import DemoAccount, Unit


def _account_draw(sim: Simulation, account_number: int) -> tuple[DemoAccount, float, str, str]:
    rng = sim.rng
    industry, _, industry_fit = weighted(rng, data.INDUSTRIES, 1)
    country, region, _, tld, phone_prefix = weighted(rng, data.COUNTRIES, 2)
    segment, _, low, high = weighted(rng, data.SIZE_BANDS, 1)
    # Log-uniform: many small companies within each band, few huge ones.
    employees = int(math.exp(rng.uniform(math.log(low), math.log(high + 1))))
    prefixes = data.COMPANY_PREFIXES
    # A bijection from account number to (round, prefix) keeps names and
    # domains unique without any global state.
    multiplier = next(m for m in range(37, 1000) if math.gcd(m, len(prefixes)) == 1)
    round_number, position = divmod(account_number, len(prefixes))
    prefix = prefixes[(position * multiplier + sim.spec.seed) % len(prefixes)]
    suffix = rng.choice(data.INDUSTRY_SUFFIXES[industry])
    qualifiers = ("", "Group", "Partners", "International", "Holdings", "Global", "Co")
    qualifier = qualifiers[round_number] if round_number < len(qualifiers) else str(round_number)
    name = " ".join(part for part in (prefix, suffix, qualifier) if part)
    domain_stem = slug(prefix + suffix) + ("" if round_number == 0 else slug(qualifier))
    account = DemoAccount(
        group_id=f"acct_{sim.spec.seed}_{account_number:06d}",
        name=name,
        domain=f"{domain_stem}.{tld}",
        industry=industry,
        employees=employees,
        country=country,
        region=region,
    )
    size_fit = {"smb": 0.5, "mid_market": 1.0, "enterprise": 0.8}[segment]
    intent = rng.betavariate(1.3, 3.0) * (0.55 + 0.3 * industry_fit + 0.25 * size_fit)
    return account, min(intent, 1.0), phone_prefix, segment


def company_simulate(sim: Simulation, account_number: int) -> Unit:
    rng = sim.rng
    account, intent, phone_prefix, segment = _account_draw(sim, account_number)
    sim.account = account
    headcount = max(1, min(account.employees, round(rng.triangular(1, 2 * sim.spec.leads_per_account - 1))))
    people: list[PersonState] = []
    used_emails: set[str] = set()
    free_serial = 0
    for _ in range(headcount):
        first, last = sim.person_name()
        title, department, seniority, _, buyer = weighted(rng, data.TITLES, 3)
        if rng.random() < 0.08:
            # A colleague who signs up with a personal address: the classic leak.
            domain = rng.choice(data.FREE_MAIL)
            local, email_type = sim.free_mail_local(first, last, free_serial), "free"
            free_serial += 1
        else:
            domain, email_type = account.domain, "business"
            first_slug, last_slug = slug(first), slug(last)
            local = rng.choice([f"{first_slug}.{last_slug}", f"{first_slug[0]}{last_slug}", first_slug])
        email = f"{local}@{domain}"
        suffix = 2
        while email in used_emails:
            email = f"{local}{suffix}@{domain}"
            suffix += 1
        used_emails.add(email)
        person = sim.person(
            email=email,
            first=first,
            last=last,
            title=title,
            department=department,
            seniority=seniority,
            country=account.country,
            phone=sim.phone(phone_prefix),
            email_type=email_type,
            buyer=buyer,
        )
        engagement = min(1.0, intent * (0.6 + 0.8 * rng.random()) + 0.1 * rng.random())
        people.append(PersonState(person, engagement))

    # The company's research starts somewhere in the window; late starters
    # simply have less history, like real pipelines.
    journey_start = rng.uniform(0, sim.horizon * 0.85)
    for state in people:
        marketing_journey(sim, state, journey_start + sim.gap(6), intent)
    if rng.random() < 0.12 + 0.8 * intent:
        _product_journey(sim, account, people, intent)
    outcomes = company_outcomes_draw(sim, account, people, intent, segment)
    return sim.unit(account, people, outcomes)


def _product_journey(sim: Simulation, account: DemoAccount, people: list[PersonState], intent: float) -> None:
    rng = sim.rng
    sim.signals["trial"] = True
    technical = [s for s in people if s.person.department in ("Data", "Engineering")] or people
    champion = max(technical, key=lambda s: s.engagement + rng.random() * 0.2)
    t = (champion.identified_at or rng.uniform(0, sim.horizon * 0.8)) + sim.gap(4)
    seats = 1
    sim.sign_up(t, champion, account, seats, referred=False)
    sim.product_track(t + 30, champion.person, "Trial Started", {"plan": "team", "trial_days": 14}, account.group_id)

    # Activation: connect a source, run a job, look at the results.
    steps = (("Source Connected", 0.5 + 0.5 * intent), ("Job Run", 0.7 + 0.3 * intent))
    for event, probability in steps:
        if rng.random() > probability:
            return
        t += sim.gap(1.5)
        properties = {"connector": rng.choice(data.CONNECTORS)} if event == "Source Connected" else sim.job()
        sim.product_track(t, champion.person, event, properties, account.group_id)
    if rng.random() > 0.75 + 0.25 * intent:
        return
    t += sim.gap(0.3)
    sim.product_track(t, champion.person, "Results Viewed", {"job_id": sim.new_id()[:8]}, account.group_id)
    if t <= sim.horizon:
        sim.signals["activated"] = True
        sim.strong_signal(t)

    # Team growth: the champion invites colleagues; seats grow.
    active = [(champion, t)]
    invitations = []
    for colleague in people:
        if colleague is champion or rng.random() > 0.3 + 0.7 * intent:
            continue
        t_invite = t + sim.gap(6)
        invitations.append((t_invite + sim.gap(1), t_invite, colleague))
    # Seats are counted in the order people actually join.
    for t_join, t_invite, colleague in sorted(invitations, key=lambda item: item[0]):
        invite = {"invitee_email": colleague.person.email}
        sim.product_track(t_invite, champion.person, "Invite Sent", invite, account.group_id)
        seats += 1
        sim.sign_up(t_join, colleague, account, seats, referred=True)
        added = {"user_id": colleague.person.user_id, "seats": seats}
        sim.product_track(t_join + 5, champion.person, "Account Added User", added, account.group_id)
        active.append((colleague, t_join))

    # Usage: sessions of jobs and results until the user drifts away.
    usage = 0
    for state, joined in active:
        stays = joined + sim.horizon * rng.uniform(0.2, 0.5 + intent)
        moment = joined
        while True:
            moment += sim.gap(2.0 / (1 + 6 * intent))
            if moment > min(stays, sim.horizon):
                break
            for _ in range(rng.randint(1, 4)):
                sim.product_track(moment, state.person, "Job Run", sim.job(), account.group_id)
                usage += 1
            if rng.random() < 0.6:
                sim.product_track(moment + 120, state.person, "Results Viewed", {}, account.group_id)
    joined_by_now = [joined for _, joined in active if joined <= sim.horizon]
    sim.signals["active_users"] = len(joined_by_now)

    # Limits bite teams, not lone users: the more people, the likelier.
    limit_chance = {0: 0.0, 1: 0.0, 2: 0.25 + 0.4 * intent}.get(len(joined_by_now), 0.5 + 0.5 * intent)
    if usage >= 8 and rng.random() < limit_chance:
        t_limit = max(joined_by_now) + sim.gap(5)
        limit = rng.choice(["seats", "rows_synced", "jobs_per_day"])
        sim.product_track(t_limit, champion.person, "Plan Limit Reached", {"limit": limit}, account.group_id)
        if t_limit <= sim.horizon:
            sim.signals["plan_limit"] = True
            sim.strong_signal(t_limit)
        if rng.random() < 0.2 + 0.5 * intent:
            t_upgrade = t_limit + sim.gap(4)
            seats += rng.randint(2, 10)
            properties = {"plan": "business", "previous_plan": "team", "seats": seats}
            sim.product_track(t_upgrade, champion.person, "Subscription Upgraded", properties, account.group_id)
            sim.group(t_upgrade + 1, champion.person, account, seats, plan="business")
            if t_upgrade <= sim.horizon:
                sim.signals["upgraded"] = True
