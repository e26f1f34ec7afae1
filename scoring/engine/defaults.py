"""The default rule version a new team gets (`manage.py install_default_rules` publishes it).

Written against the event vocabulary in PRODUCT.md ("Event vocabulary of the default rules"),
so a team already sending Segment's standard events gets sensible MQL and PQL decisions on
day one. The weights follow the seeds' warning: scoring must reward intent, not activity, so
a buyer at a fitting company who visits the pricing page once outranks a student who
downloads three whitepapers (fit carries most of the weight, whitepapers are worth little
and capped, student and free-mail addresses cost points).

Every field the rules name is in the field catalogue (conditions/catalogue.py); the facts
builder (leads/facts.py) computes them from the lead, its account and the events.
"""

from __future__ import annotations

import copy
from typing import Any

# Product events that make a user "active" (PRODUCT.md: an account's active users are the
# distinct users with any product event in the last 7 days).
PRODUCT_EVENTS = [
    "Signed Up",
    "Trial Started",
    "Source Connected",
    "Job Run",
    "Results Viewed",
    "Invite Sent",
    "Account Added User",
    "Plan Limit Reached",
    "Subscription Upgraded",
]

# Country traits arrive as ISO codes or English names (Segment's spec leaves it
# free text), so both spellings are listed.
TARGET_COUNTRIES = [
    *["US", "CA", "GB", "UK", "IE", "DE", "FR", "NL", "BE", "SE", "DK", "NO", "FI", "CH", "AT", "AU", "NZ"],
    *["United States", "USA", "Canada", "United Kingdom", "Ireland", "Germany", "France", "Netherlands"],
    *["Belgium", "Sweden", "Denmark", "Norway", "Finland", "Switzerland", "Austria", "Australia", "New Zealand"],
]

# Word lists, matched as whole words ignoring case ("VP Data" has "VP"; "MVP" does not), so the
# stage definitions page reads "the lead's title contains any of VP, Head, Director..." where
# earlier defaults showed a regular expression.
SENIOR_TITLE_WORDS = [
    *["VP", "Vice President", "Head", "Director", "Chief", "CTO", "CIO", "CDO", "Founder", "Owner"],
]
SENIOR_SENIORITY_WORDS = [
    *["VP", "Vice President", "Head", "Director", "Executive", "C-level", "C_level", "Owner", "Founder"],
]
DATA_DEPARTMENT_WORDS = ["Data", "Engineering", "Analytics", "IT", "Technology", "Platform"]
DATA_TITLE_WORDS = ["Data", "Analytics", "Engineering", "Platform"]
TARGET_INDUSTRY_WORDS = [
    *["Software", "SaaS", "Internet", "Technology", "Financial", "Fintech", "Banking", "Insurance"],
    *["E-commerce", "Ecommerce", "Retail", "Healthcare"],
]

DEFAULT_RULES: dict[str, Any] = {
    "schema": 1,
    "thresholds": {
        "mql": {"fit_min": 40, "engagement_min": 25, "total_min": 75},
        "hot": {"total_min": 130},
        "grades": {"A": 60, "B": 40, "C": 20},
    },
    "fit_rules": [
        {
            "name": "Target role",
            "description": "Decision makers: VP, head, director or C-level titles or seniority.",
            "label": "senior buyer",
            "points": 25,
            "when": {
                "any": [
                    {"field": "lead.title", "op": "contains_any", "value": SENIOR_TITLE_WORDS},
                    {"field": "lead.seniority", "op": "contains_any", "value": SENIOR_SENIORITY_WORDS},
                ]
            },
        },
        {
            "name": "Target department",
            "description": "Works in data, engineering, analytics or IT, the teams that run data workflows.",
            "points": 10,
            "when": {
                "any": [
                    {"field": "lead.department", "op": "contains_any", "value": DATA_DEPARTMENT_WORDS},
                    {"field": "lead.title", "op": "contains_any", "value": DATA_TITLE_WORDS},
                ]
            },
        },
        {
            "name": "Target industry",
            "description": "The company is in software, internet, financial services, e-commerce or healthcare.",
            "label": "target industry",
            "points": 20,
            "when": {"field": "account.industry", "op": "contains_any", "value": TARGET_INDUSTRY_WORDS},
        },
        {
            "name": "Company size 50 to 10,000",
            "description": "The company has between 50 and 10,000 employees.",
            "points": 15,
            "when": {"field": "account.employee_count", "op": "between", "value": [50, 10000]},
        },
        {
            "name": "Company size 10 to 49",
            "description": "A smaller company, 10 to 49 employees: some fit.",
            "points": 5,
            "when": {"field": "account.employee_count", "op": "between", "value": [10, 49]},
        },
        {
            "name": "Target country",
            "description": "The lead or the company is in a country we sell to.",
            "points": 5,
            "when": {
                "any": [
                    {"field": "lead.country", "op": "in", "value": TARGET_COUNTRIES},
                    {"field": "account.country", "op": "in", "value": TARGET_COUNTRIES},
                ]
            },
        },
        {
            "name": "Business email",
            "description": "Signed up with a company email address.",
            "points": 10,
            "when": {"field": "lead.email_type", "op": "eq", "value": "business"},
        },
    ],
    "engagement_rules": [
        {
            "name": "Demo requested",
            "description": "Asked for a demo: the clearest hand-raise.",
            "label": "requested a demo",
            "points": 40,
            "event": "Demo Requested",
            "max_count": 1,
            "window_days": 60,
            "half_life_days": 30,
        },
        {
            "name": "Pricing page visit",
            "description": "Visited the pricing page (buying intent).",
            "label": "pricing page",
            "points": 15,
            "event_type": "page",
            "when": {"field": "event.properties.path", "op": "contains", "value": "/pricing"},
            "max_count": 3,
            "window_days": 30,
            "half_life_days": 14,
        },
        {
            "name": "Form submitted",
            "description": "Filled in a form (contact, content or event form).",
            "label": "form submitted",
            "points": 15,
            "event": "Form Submitted",
            "max_count": 3,
            "window_days": 90,
            "half_life_days": 30,
        },
        {
            "name": "Webinar attended",
            "description": "Attended a webinar.",
            "label": "attended webinar",
            "points": 15,
            "event": "Webinar Attended",
            "max_count": 2,
            "window_days": 90,
            "half_life_days": 30,
        },
        {
            "name": "Webinar registered",
            "description": "Registered for a webinar.",
            "label": "webinar registration",
            "points": 10,
            "event": "Webinar Registered",
            "max_count": 2,
            "window_days": 90,
            "half_life_days": 30,
        },
        {
            "name": "Practical asset downloaded",
            "description": "Downloaded a checklist or case study, content used when evaluating.",
            "label": "checklist or case study",
            "points": 10,
            "event": "Asset Downloaded",
            "when": {"field": "event.properties.asset_type", "op": "in", "value": ["checklist", "case_study"]},
            "max_count": 3,
            "window_days": 90,
            "half_life_days": 30,
        },
        {
            "name": "Reading asset downloaded",
            "description": "Downloaded a whitepaper or ebook: interest in the topic, weak buying signal.",
            "label": "whitepaper or ebook",
            "points": 4,
            "event": "Asset Downloaded",
            "when": {"field": "event.properties.asset_type", "op": "in", "value": ["whitepaper", "ebook"]},
            "max_count": 3,
            "window_days": 90,
            "half_life_days": 30,
        },
        {
            "name": "Email link clicked",
            "description": "Clicked a link in one of our emails.",
            "label": "email clicks",
            "points": 3,
            "event": "Email Link Clicked",
            "max_count": 5,
            "window_days": 30,
            "half_life_days": 14,
        },
        {
            "name": "Docs visit",
            "description": "Read the documentation.",
            "label": "docs",
            "points": 2,
            "event_type": "page",
            "when": {"field": "event.properties.path", "op": "startswith", "value": "/docs"},
            "max_count": 5,
            "window_days": 30,
            "half_life_days": 14,
        },
        {
            "name": "Trial started",
            "description": "Signed up for or started a trial of the product.",
            "label": "started a trial",
            "points": 20,
            "event": ["Trial Started", "Signed Up"],
            "max_count": 1,
            "window_days": 90,
            "half_life_days": 45,
        },
        {
            "name": "Invited a colleague",
            "description": "Invited a colleague into the product.",
            "label": "invited colleagues",
            "points": 10,
            "event": ["Invite Sent", "Account Added User"],
            "max_count": 3,
            "window_days": 30,
        },
    ],
    "negative_rules": [
        {
            "name": "Unsubscribed",
            "description": "Unsubscribed from our emails.",
            "label": "unsubscribed",
            "points": -20,
            "bucket": "engagement",
            "when": {"field": "lead.is_unsubscribed", "op": "eq", "value": True},
        },
        {
            "name": "Free-mail address",
            "description": "Uses a free email provider such as gmail.com.",
            "label": "free-mail address",
            "points": -15,
            "when": {"field": "lead.email_type", "op": "eq", "value": "free"},
        },
        {
            "name": "Student",
            "description": "A student address or a student title: not a buyer.",
            "label": "student",
            "points": -40,
            "when": {
                "any": [
                    {"field": "lead.email_type", "op": "eq", "value": "student"},
                    {"field": "lead.title", "op": "contains_any", "value": ["Student", "Intern"]},
                ]
            },
        },
        {
            "name": "Competitor",
            "description": "Works at a competitor. Add their email domains to the list.",
            "label": "competitor",
            "points": -100,
            "when": {"field": "lead.email_domain", "op": "in", "value": []},
        },
        {
            "name": "Careers page visit",
            "description": "Visited the careers page: probably job hunting, not buying.",
            "label": "careers page",
            "points": -10,
            "event_type": "page",
            "when": {"field": "event.properties.path", "op": "startswith", "value": "/careers"},
            "max_count": 3,
            "window_days": 30,
        },
    ],
    "pql_paths": [
        {
            "name": "Activation",
            "description": "Connected a source, ran a job and viewed the results, all within 14 days.",
            "label": "Activated: source connected, job run, results viewed",
            "kind": "activation",
            "events": ["Source Connected", "Job Run", "Results Viewed"],
            "within_days": 14,
            "ordered": False,
            "lookback_days": 60,
            "scope": "lead",
        },
        {
            "name": "Plan limit reached",
            "description": "The account hit a limit of its plan in the last 7 days.",
            "label": "Hit plan limit",
            "kind": "plan_limit",
            "within_days": 7,
        },
        {
            "name": "Team usage",
            "description": "At least 5 people on the account used the product in the last 7 days.",
            "kind": "usage_depth",
            "min_active_users": 5,
            "events": PRODUCT_EVENTS,
            "within_days": 7,
        },
        {
            "name": "Seat growth",
            "description": "The account added at least 3 seats in the last 30 days.",
            "kind": "seat_growth",
            "min_increase": 3,
            "within_days": 30,
        },
    ],
}


def default_rules() -> dict[str, Any]:
    """A fresh copy of the default rule version, safe to modify."""
    return copy.deepcopy(DEFAULT_RULES)
