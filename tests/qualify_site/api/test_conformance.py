"""The API does what its schema says: schemathesis runs every operation as an admin and as
a rep, against the real PostgreSQL test database, and finds no 5xx and no status code,
content type or body the schema does not document.

Derandomized (a fixed seed per operation) so that a CI failure reproduces, and bounded
in examples so that the run stays about a minute.
"""

from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leads.models import Account, Event, EventType, Lead, Stage
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


def _exercise(operation, mode: GenerationMode, *, token: str, ids: dict[str, list[int]], run: Run) -> None:
    """Up to EXAMPLES cases of one operation, derandomized; failures are kept (one per
    operation and message) rather than raised, so that one run reports them all."""

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def exercise(case):
        _aim_at_existing_records(case, ids)
        run.requests += 1
        try:
            response = case.call(headers={"Authorization": f"Token {token}"})
            run.statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as error:
            for failure in getattr(error, "exceptions", [error]):
                summary = f"{getattr(failure, 'title', '')}: {getattr(failure, 'message', failure)}"[:300]
                run.failures.setdefault(f"{operation.label} {mode.value}: {summary}", case.as_curl_command())

    exercise()


@pytest.mark.parametrize("who", ["admin_user_qualify", "alice"])
def test_the_api_answers_as_its_schema_says(request, world, who):
    # given
    token = Token.objects.create(user=request.getfixturevalue(who)).key
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    run = Run()

    # when
    for operation in operations:
        for mode in MODES:
            _exercise(operation, mode, token=token, ids=_existing_ids(), run=run)

    # then
    documented = sum(len(methods) for methods in schema.raw_schema["paths"].values())
    assert len(operations) == documented
    print(f"{who}: {len(operations)} operations, {run.requests} requests, statuses {sorted(run.statuses.items())}")
    assert not run.failures, "\n".join(f"{name}\n    {curl}" for name, curl in run.failures.items())
