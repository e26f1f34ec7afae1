"""A person's marketing journey: anonymous visits, a first form, then nurture
emails, webinars, downloads and maybe a demo request (or an unsubscribe)."""

from leads.demo import data
from leads.demo.simulation import PersonState, Simulation, weighted
from leads.demo.spec import DAY, MARKETING, DemoPerson


def marketing_journey(sim: Simulation, state: PersonState, t: float, intent: float) -> None:
    rng, person, engagement = sim.rng, state.person, state.engagement
    campaign = rng.choice(data.CAMPAIGNS)
    is_technical = person.department in ("Data", "Engineering")
    # Anonymous browsing first.
    for visit in range(1 + int(rng.expovariate(1.0 / (1 + 3 * engagement)))):
        # A visit reads a few pages, a minute or two apart.
        for page_number in range(rng.randint(1, 4)):
            path = _pick_path(sim, person, intent, is_technical)
            first_page = visit == 0 and page_number == 0
            sim.page(t + page_number * rng.uniform(20, 150), state, path, campaign if first_page else None)
        t += sim.gap(2.5)
    # Most people a company sends us eventually fill a form; some never do.
    if rng.random() > 0.6 + 0.4 * engagement:
        return
    _convert(sim, t, state, campaign)
    t += sim.gap(1)
    # After identification: nurture emails, more visits, maybe a demo.
    actions = int(rng.expovariate(1.0 / (1 + 9 * engagement)))
    for _ in range(actions):
        t += sim.gap(4)
        if t > sim.horizon or state.unsubscribed:
            break
        roll = rng.random()
        if roll < 0.35:
            medium_campaign = ("monthly-newsletter", "email") if rng.random() < 0.6 else campaign
            sim.web_track(t, state, "Email Link Clicked", {"campaign": medium_campaign[0], "link": "/blog"})
            sim.page(t + 5, state, rng.choice(data.BLOG_PAGES))
        elif roll < 0.6:
            sim.page(t, state, _pick_path(sim, person, intent, is_technical))
        elif roll < 0.72:
            asset_type, asset = rng.choice(data.ASSETS)
            _download(sim, t, state, asset_type, asset, campaign[0])
        elif roll < 0.84:
            _webinar(sim, t, state)
        elif roll < 0.84 + 0.16 * intent * person.buyer:
            sim.page(t, state, "/pricing")
            _form(sim, t + 60, state, "demo-request", campaign[0])
            sim.web_track(t + 61, state, "Demo Requested", {"form_id": "demo-request"}, "/demo")
            sim.signals["demo_requested"] = True
            sim.strong_signal(t + 61)
        elif rng.random() < 0.5 * (1 - engagement):
            sim.web_track(t, state, "Unsubscribed", {"list": "marketing"}, "/unsubscribe")
            state.unsubscribed = True
            sim.signals["unsubscribed"] += 1


def _pick_path(sim: Simulation, person: DemoPerson, intent: float, is_technical: bool) -> str:
    rng = sim.rng
    careers_weight = 5.0 if person.buyer == 0.0 else 0.3
    options = (
        ("/", 3.0),
        ("blog", 3.0),
        ("docs", 4.0 if is_technical else 0.7),
        ("/pricing", 0.3 + 6.0 * intent * (0.3 + person.buyer)),
        ("/careers", careers_weight),
        ("/customers", 1.0),
        ("/product/connectors", 1.5 if is_technical else 0.5),
    )
    choice = weighted(rng, options, 1)[0]
    if choice == "blog":
        return rng.choice(data.BLOG_PAGES)
    if choice == "docs":
        return rng.choice(data.DOCS_PAGES)
    return choice


def _identify(sim: Simulation, t: float, state: PersonState) -> None:
    if state.identified_at is not None:
        return
    state.identified_at = t
    sim.signals["identified"] += 1
    sim.signals["buyer_engaged"] = max(sim.signals["buyer_engaged"], state.person.buyer)
    message = {
        "type": "identify",
        "anonymousId": state.person.anonymous_id,
        "traits": sim.traits(state.person),
        "context": sim.web_context("/thank-you", "Thank you"),
    }
    sim.emit(t, MARKETING, message)
    if sim.account is not None and state.person.email_type == "business":
        # Form enrichment (firmographics looked up from the work email)
        # reports the company with a group call, as analytics.js does.
        account = sim.account
        traits = {"name": account.name, "domain": account.domain, "industry": account.industry}
        traits |= {"employees": account.employees, "country": account.country}
        group = {"type": "group", "anonymousId": state.person.anonymous_id, "groupId": account.group_id}
        group |= {"traits": traits, "context": sim.web_context("/thank-you", "Thank you")}
        sim.emit(t + 0.5, MARKETING, group)


def _form(sim: Simulation, t: float, state: PersonState, form_id: str, campaign: str) -> None:
    _identify(sim, t, state)
    sim.web_track(t + 1, state, "Form Submitted", {"form_id": form_id, "campaign": campaign}, f"/{form_id}")


def _download(sim: Simulation, t: float, state: PersonState, asset_type: str, asset: str, campaign: str) -> None:
    _form(sim, t, state, f"gated-{asset_type}", campaign)
    sim.web_track(t + 2, state, "Asset Downloaded", {"asset_type": asset_type, "asset": asset})
    sim.signals["asset_types"].add(asset_type)


def _webinar(sim: Simulation, t: float, state: PersonState) -> None:
    webinar = sim.rng.choice(data.WEBINARS)
    _form(sim, t, state, "webinar-registration", "2025-q4-pipeline-observability-webinar")
    sim.web_track(t + 2, state, "Webinar Registered", {"webinar": webinar}, "/webinars")
    if sim.rng.random() < 0.35 + 0.5 * state.engagement:
        sim.web_track(t + sim.gap(5) + DAY, state, "Webinar Attended", {"webinar": webinar}, "/webinars/live")
        sim.signals["webinar_attended"] = True


def _convert(sim: Simulation, t: float, state: PersonState, campaign: tuple[str, str]) -> None:
    """The first form: how an anonymous visitor becomes a known lead."""
    rng = sim.rng
    roll = rng.random()
    if roll < 0.55:
        asset_type, asset = rng.choice(data.ASSETS)
        _download(sim, t, state, asset_type, asset, campaign[0])
    elif roll < 0.8:
        _webinar(sim, t, state)
    else:
        _form(sim, t, state, "newsletter", campaign[0])
