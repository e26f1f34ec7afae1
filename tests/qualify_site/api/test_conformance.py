"""The API does what its schema says: schemathesis runs every /api operation as an admin and
as a rep, and every /v1 ingestion operation with an active source's write key (and with a
missing, an unknown and a disabled source's one), against the real PostgreSQL test database,
and finds no 5xx and no status code, content type or body the schema does not document.

Derandomized (a fixed seed per operation) so that a CI failure reproduces, and bounded
in examples so that the run stays about a minute.
"""

import base64
from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from leads.ingest.openapi import OPERATIONS
from leads.models import Account, Event, EventType, Lead, Source, Stage
from leads.services.sources import source_create
from routing.models import Assignment, Rep, RoutingTrigger, SlaPolicy, Team
from routing.services.assignments import lead_route
from tests.routing.world import make_queue, make_rep, rep_user, rule

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
# Examples per operation and mode: with 22 operations, two modes and two users, about 900 requests.
EXAMPLES = 10
# The token is ours: generated credentials would only test the 401s.
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})


@pytest.fixture
def world(django_user_model, alice, charlie, admin_user_qualify):
    """Alice (a rep in Charlie's team) works German leads; accounts, leads and events to look at."""
    team = Team.objects.create(name="East", manager=charlie)
    queue = make_queue("Germany", [make_rep(alice, team=team)])
    rule("German leads", queue, 1, {"field": "lead.country", "op": "eq", "value": "DE"})
    make_rep(rep_user(django_user_model, "bruno"), team=team)
    SlaPolicy.objects.create(name="MQL", stage=Stage.MQL, first_touch_minutes=60, warning_minutes=30)
    source, _ = source_create(name="Web app", kind="product")
    acme = Account.objects.create(name="Acme", domain="acme.de", owner=alice)
    now = timezone.now()
    for number in range(6):
        lead = Lead.objects.create(email=f"lead{number}@acme.de", country="DE", stage=Stage.MQL, account=acme)
        Event.objects.create(
            source=source,
            message_id=f"m{number}",
            type=EventType.TRACK,
            event="Signed Up",
            lead=lead,
            account=acme,
            received_at=now,
            timestamp=now,
            properties={"plan": "trial"},
        )
        lead_route(lead_id=lead.id, trigger=RoutingTrigger.QUALIFIED)
    Lead.objects.create(email="new@globex.com", stage=Stage.NEW)


def _existing_ids() -> dict[str, list[int]]:
    return {
        "lead_id": list(Lead.objects.values_list("id", flat=True)),
        "account_id": list(Account.objects.values_list("id", flat=True)),
        "event_id": list(Event.objects.values_list("id", flat=True)),
        "assignment_id": list(Assignment.objects.values_list("id", flat=True)),
        "rep_id": list(Rep.objects.values_list("id", flat=True)),
    }


def _aim_at_existing_records(case, ids: dict[str, list[int]]) -> None:
    """Most generated ids become ids the world holds (chosen by the generated value, so the
    run stays deterministic); the rest stay as generated, mostly 404s."""
    for name, value in (case.path_parameters or {}).items():
        if isinstance(value, int) and value % 4 != 0 and ids.get(name):
            case.path_parameters[name] = ids[name][value % len(ids[name])]


@dataclass
class Run:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)


def _derandomized(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )


def _record(run: Run, name: str, error: Exception, curl: str, response=None) -> None:
    """Each failure once per operation and message, with the response that showed it."""
    for failure in getattr(error, "exceptions", [error]):
        summary = f"{getattr(failure, 'title', '')}: {getattr(failure, 'message', failure)}"[:300]
        if response is not None:
            summary += f" [{response.status_code} {response.text[:200]}]"
        run.failures.setdefault(f"{name}: {summary}", curl)


def _exercise(operation, mode: GenerationMode, *, token: str, ids: dict[str, list[int]], run: Run) -> None:
    """Up to EXAMPLES cases of one operation, derandomized; failures are kept (one per
    operation and message) rather than raised, so that one run reports them all."""

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @_derandomized(EXAMPLES)
    def exercise(case):
        _aim_at_existing_records(case, ids)
        run.requests += 1
        try:
            response = case.call(headers={"Authorization": f"Token {token}"})
            run.statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as error:
            _record(run, f"{operation.label} {mode.value}", error, case.as_curl_command())

    exercise()


@pytest.mark.parametrize("who", ["admin_user_qualify", "alice"])
def test_the_api_answers_as_its_schema_says(request, world, who):
    # given
    token = Token.objects.create(user=request.getfixturevalue(who)).key
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), config=CONFIG)
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if op.path.startswith("/api/")]
    run = Run()

    # when
    for operation in operations:
        for mode in MODES:
            _exercise(operation, mode, token=token, ids=_existing_ids(), run=run)

    # then
    documented = sum(len(methods) for path, methods in schema.raw_schema["paths"].items() if path.startswith("/api/"))
    assert len(operations) == documented
    print(f"{who}: {len(operations)} operations, {run.requests} requests, statuses {sorted(run.statuses.items())}")
    assert not run.failures, "\n".join(f"{name}\n    {curl}" for name, curl in run.failures.items())


# --- /v1: the Segment HTTP Tracking API -------------------------------------------------

# Examples per /v1 operation and mode with a real write key; with a missing, unknown or
# disabled one every request ends at authentication, so a few show it.
INGESTION_EXAMPLES = {"active": 25, "missing": 3, "unknown": 3, "disabled": 3}
# What a request with each kind of key that is not an active source's gets.
KEY_REFUSALS = {"missing": 401, "unknown": 401, "disabled": 403}
# JSON Schema (OpenAPI 3.0) cannot say "no NUL character in any key or string, at any depth" of
# the free-form objects a message carries; the schema says it in words, and
# tests/leads/test_ingest_messages.py shows the 400 naming the field.
INGESTION_CONFIG = schemathesis.Config.from_dict(
    {"generation": {"with-security-parameters": False, "allow-x00": False}}
)


def _basic(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def _ingestion_headers(key: str, *, write_key: str, disabled_key: str) -> dict[str, str]:
    return {
        "active": {"Authorization": _basic(write_key)},
        "missing": {},
        "unknown": {"Authorization": _basic("not-a-write-key-of-any-source")},
        "disabled": {"Authorization": _basic(disabled_key)},
    }[key]


# Rules across fields, which JSON Schema cannot state (the schema states them in words): a
# message the schema finds valid may still be refused for one of these, with a 400 saying so.
RULES_ACROSS_FIELDS = ("too far from sentAt to correct for clock skew",)


def _is_refused_by_a_rule_across_fields(response) -> bool:
    if response.status_code != 400:
        return False
    message = response.json().get("message", "")
    return any(rule in message for rule in RULES_ACROSS_FIELDS)


def _check_a_batch_sets_aside_what_it_does_not_refuse(case, response) -> None:
    """In place of negative_data_rejection on /v1/batch and /v1/import: by Segment's contract a
    batch answers 200 and lists the messages it set aside in `rejected`, so a batch that breaks
    its schema is refused or has something set aside (unless it holds no message at all)."""
    messages = case.body.get("batch") if isinstance(case.body, dict) else None
    if response.status_code == 200 and messages:
        assert response.json().get("rejected"), "A batch that breaks its schema was stored whole"


def _exercise_ingestion(operation, mode: GenerationMode, *, headers: dict, examples: int, run: Run) -> None:
    """As _exercise, with every check schemathesis has for a single response, each /v1 way."""
    is_batch = OPERATIONS[operation.path] is None

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @_derandomized(examples)
    def exercise(case):
        run.requests += 1
        response = None
        try:
            response = case.call(headers=headers)
            run.statuses[response.status_code] += 1
            excluded = [negative_data_rejection] if is_batch else []
            if _is_refused_by_a_rule_across_fields(response):
                excluded.append(positive_data_acceptance)
            case.validate_response(response, headers=headers, excluded_checks=excluded)
            if is_batch and mode == GenerationMode.NEGATIVE:
                _check_a_batch_sets_aside_what_it_does_not_refuse(case, response)
        except (AssertionError, FailureGroup) as error:
            _record(run, f"{operation.label} {mode.value}", error, case.as_curl_command(headers), response)

    exercise()


@pytest.mark.redis
@pytest.mark.parametrize("key", list(INGESTION_EXAMPLES))
def test_the_ingestion_api_answers_as_its_schema_says(settings, key):
    # given: an active source, a disabled one, and no write-key failures counted yet
    cache.clear()
    if key == "active":
        # The ignored_auth check sends each request again without its key: those 401s must
        # not throttle the address (the other keys show that throttle).
        settings.INGEST_AUTH_FAILURE_LIMIT = 1_000_000
    _, write_key = source_create(name="Web app", kind="product")
    disabled, disabled_key = source_create(name="Old site", kind="marketing")
    Source.objects.filter(pk=disabled.pk).update(is_active=False)
    headers = _ingestion_headers(key, write_key=write_key, disabled_key=disabled_key)
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), config=INGESTION_CONFIG)
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if op.path.startswith("/v1/")]
    run = Run()

    # when
    for operation in operations:
        for mode in MODES:
            _exercise_ingestion(operation, mode, headers=headers, examples=INGESTION_EXAMPLES[key], run=run)

    # then
    print(f"{key} key: {len(operations)} operations, {run.requests} requests, statuses {sorted(run.statuses.items())}")
    assert len(operations) == len(OPERATIONS)
    assert not run.failures, "\n".join(f"{name}\n    {curl}" for name, curl in run.failures.items())
    if key == "active":
        assert run.statuses[200] and Event.objects.exists()
    else:
        # Refused at the key (bodies that are not JSON are refused before it is read), never stored.
        assert run.statuses[KEY_REFUSALS[key]]
        assert not run.statuses[200]
        assert not Event.objects.exists()
