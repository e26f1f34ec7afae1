"""Who may do what in the Django admin, role by role: the decisions, written down and walked.

Every ModelAdmin in the admin's registry, every action and every custom admin page
must have a row below; a newly registered one fails
`test_every_registered_model_admin_has_a_decision` until someone decides. Each
decision is then checked with real requests: the pages a role may open, the rows
it sees, what the change page lets it do, and that a POST it may not make changes
nothing in the database.

Ops per row: v = view (list and page), a = add (the model's, so on every row or
none), c = change, d = delete. A role's entry is one string for every row of the
model, or one per row when rows differ:
`ours` belongs to Charlie's team (East: Alice, Bob), `theirs` to Dana's (West: Erin);
`draft` and `published` are rule versions. Reps, even given is_staff by mistake,
and staff accounts without a role never get past the admin's door
(qualify_site.admin_site).
"""

import uuid

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token, TokenProxy

from insights.models import BacktestRun, InsightReport
from leads.models import (
    Account,
    Campaign,
    DeadLetter,
    Event,
    EventType,
    Identity,
    IdentityKind,
    Lead,
    LeadMerge,
    Outcome,
    RejectedMessage,
    Stage,
    StageChange,
)
from leads.services.roles import roles_sync
from leads.services.sources import source_create
from qualify_site.roles import Role
from routing.models import (
    Activity,
    HolidayCalendar,
    Queue,
    Rep,
    RoutingDecision,
    RoutingRule,
    RoutingTrigger,
    SlaEvent,
    SlaPolicy,
    Team,
    Territory,
)
from routing.services.assignments import lead_route
from routing.services.reps import queue_member_add
from scoring.models import LeadScore, ScoreChange
from scoring.services import rule_version_clone, rule_version_install_default

pytestmark = [pytest.mark.django_db]

MANAGER, MARKETING_OPS, ADMIN = "manager", "marketing ops", "admin"
ROLES = (MANAGER, MARKETING_OPS, ADMIN)
NONE, VIEW, EDIT, ALL = "", "v", "vac", "vacd"
READ_BY_ALL = {MANAGER: VIEW, MARKETING_OPS: VIEW, ADMIN: VIEW}
ADMINS_ONLY = {MANAGER: NONE, MARKETING_OPS: NONE, ADMIN: ALL}
SALES_CONFIGURATION = {MANAGER: ALL, MARKETING_OPS: VIEW, ADMIN: ALL}
TEAM_ROWS = {MANAGER: {"ours": ALL, "theirs": "va"}, MARKETING_OPS: VIEW, ADMIN: ALL}
# Marketing ops edit what a lead is; who owns it is sales management's (routing.services.ownership).
OWNED_ROWS = {MANAGER: {"ours": "vc", "theirs": VIEW}, MARKETING_OPS: EDIT, ADMIN: ALL}
SCORING_RECORDS = READ_BY_ALL
RULE_VERSIONS = {role: {"draft": ALL, "published": "va"} for role in (MARKETING_OPS, ADMIN)}

MATRIX: dict[str, dict[str, str | dict[str, str]]] = {
    # People and credentials are the admins'.
    "auth.group": ADMINS_ONLY,
    "auth.user": ADMINS_ONLY,
    "authtoken.tokenproxy": ADMINS_ONLY,
    # Sign-in lockouts (django-axes): an admin reads them and lifts one by deleting it.
    "axes.accessattempt": {MANAGER: NONE, MARKETING_OPS: NONE, ADMIN: "vcd"},
    "axes.accesslog": {MANAGER: NONE, MARKETING_OPS: NONE, ADMIN: "vcd"},
    "axes.accessfailurelog": {MANAGER: NONE, MARKETING_OPS: NONE, ADMIN: "vcd"},
    # Sources hold write keys: admins.
    "leads.source": {MANAGER: VIEW, MARKETING_OPS: VIEW, ADMIN: ALL},
    "leads.campaign": {MANAGER: VIEW, MARKETING_OPS: EDIT, ADMIN: ALL},
    "leads.account": OWNED_ROWS,
    "leads.lead": OWNED_ROWS,
    # Records of what happened.
    "leads.event": READ_BY_ALL,
    "leads.rejectedmessage": READ_BY_ALL,
    "leads.identity": READ_BY_ALL,
    "leads.stagechange": READ_BY_ALL,
    "leads.leadmerge": READ_BY_ALL,
    # Outcomes come from the CRM: marketing ops import them (routing.services.outcomes).
    "leads.outcome": {MANAGER: VIEW, MARKETING_OPS: EDIT, ADMIN: ALL},
    # Batches set aside: their errors speak of internals and a replay re-runs the pipeline.
    "leads.deadletter": {MANAGER: NONE, MARKETING_OPS: NONE, ADMIN: VIEW},
    "scoring.leadscore": SCORING_RECORDS,
    "scoring.scorechange": SCORING_RECORDS,
    # Marketing ops own the definitions; published versions never change.
    "scoring.ruleversion": {MANAGER: VIEW, **RULE_VERSIONS},
    # Who manages whom: every manager's rights derive from it.
    "routing.team": {MANAGER: VIEW, MARKETING_OPS: VIEW, ADMIN: ALL},
    # Shared by every team.
    "routing.territory": SALES_CONFIGURATION,
    "routing.holidaycalendar": SALES_CONFIGURATION,
    "routing.slapolicy": SALES_CONFIGURATION,
    # A manager acts on their own team only, as in the API.
    "routing.rep": TEAM_ROWS,
    "routing.queue": TEAM_ROWS,
    "routing.routingrule": TEAM_ROWS,
    # Work on leads: not marketing ops'; a manager sees their team's.
    "routing.assignment": {MANAGER: {"ours": VIEW, "theirs": NONE}, MARKETING_OPS: NONE, ADMIN: VIEW},
    "routing.routingdecision": READ_BY_ALL,
    "routing.slaevent": {MANAGER: VIEW, MARKETING_OPS: NONE, ADMIN: VIEW},
    "routing.activity": {MANAGER: VIEW, MARKETING_OPS: NONE, ADMIN: VIEW},
    # Backtests: marketing ops and admins start them (and clear old ones), managers read them.
    "insights.backtestrun": {MANAGER: VIEW, MARKETING_OPS: "vd", ADMIN: "vd"},
    # Stored reports: written by their task, recomputed from their page; read here for their errors.
    "insights.insightreport": READ_BY_ALL,
}

# Actions besides Django's delete_selected (which follows the delete permission of each row).
ACTIONS = {
    "axes.accessattempt": {"cleanup_expired_attempts": {ADMIN}},
    "leads.lead": {"route_now": {MANAGER, ADMIN}},
    "leads.deadletter": {"replay": {ADMIN}},
    "scoring.ruleversion": {"clone_versions": {MARKETING_OPS, ADMIN}},
    "routing.assignment": {"reassign_to_next": {MANAGER, ADMIN}},
}

# Custom admin pages: (model, row its URL takes or None, roles that may open it, rows it may act on).
CUSTOM_VIEWS = {
    "auth_user_password_change": ("auth.user", "row", {ADMIN}),
    "leads_account_import": ("leads.account", None, {MARKETING_OPS, ADMIN}),
    "leads_account_process_import": ("leads.account", None, {MARKETING_OPS, ADMIN}),
    "leads_lead_import": ("leads.lead", None, {MARKETING_OPS, ADMIN}),
    "leads_lead_process_import": ("leads.lead", None, {MARKETING_OPS, ADMIN}),
    "leads_outcome_import": ("leads.outcome", None, {MARKETING_OPS, ADMIN}),
    "leads_outcome_process_import": ("leads.outcome", None, {MARKETING_OPS, ADMIN}),
    "leads_lead_change_stage": ("leads.lead", "ours", {MANAGER, ADMIN}),
    "leads_event_unmatched": ("leads.event", None, {MANAGER, MARKETING_OPS, ADMIN}),
    "scoring_ruleversion_clone": ("scoring.ruleversion", "draft", {MARKETING_OPS, ADMIN}),
    "scoring_ruleversion_publish": ("scoring.ruleversion", "draft", {MARKETING_OPS, ADMIN}),
    "scoring_ruleversion_changes": ("scoring.ruleversion", "draft", {MANAGER, MARKETING_OPS, ADMIN}),
    "scoring_ruleversion_preview": ("scoring.ruleversion", "draft", {MANAGER, MARKETING_OPS, ADMIN}),
    "scoring_ruleversion_condition_words": ("scoring.ruleversion", None, {MARKETING_OPS, ADMIN}),
    "scoring_ruleversion_condition_builder": ("scoring.ruleversion", None, {MARKETING_OPS, ADMIN}),
    "routing_reroute": ("routing.routingrule", None, {MANAGER, ADMIN}),
    "routing_preview": ("routing.routingdecision", None, {MANAGER, MARKETING_OPS, ADMIN}),
    "insights_backtestrun_results": ("insights.backtestrun", "row", {MANAGER, MARKETING_OPS, ADMIN}),
    "insights_backtestrun_progress": ("insights.backtestrun", "row", {MANAGER, MARKETING_OPS, ADMIN}),
    "insights_backtestrun_version": ("scoring.ruleversion", "draft", {MANAGER, MARKETING_OPS, ADMIN}),
    "insights_backtestrun_start": ("scoring.ruleversion", "draft", {MARKETING_OPS, ADMIN}),
}
# Pages that only answer POST: anyone allowed gets 405 for a GET.
POST_ONLY = {
    "scoring_ruleversion_clone",
    "routing_reroute",
    "leads_account_process_import",
    "leads_lead_process_import",
    "leads_outcome_process_import",
}


def _ops(label: str, role: str, rows: dict) -> dict[str, str]:
    """The ops of `role` on each of the model's rows in the world."""
    decided = MATRIX[label][role]
    return decided if isinstance(decided, dict) else dict.fromkeys(rows, decided)


def _label(model) -> str:
    return model._meta.label_lower


def _registry() -> dict[str, admin.ModelAdmin]:
    return {_label(model): model_admin for model, model_admin in admin.site._registry.items()}


ALWAYS = {str(day): [["00:00", "24:00"]] for day in range(7)}


@pytest.fixture
def world(alice, bob, charlie, dana, erin, olivia, admin_user_qualify):
    """One row of every registered model; two where a role's rights depend on the row."""
    roles_sync()
    now = timezone.now()

    east, west = Team.objects.create(name="East", manager=charlie), Team.objects.create(name="West", manager=dana)
    alice_rep = Rep.objects.create(user=alice, team=east, working_hours=ALWAYS)
    Rep.objects.create(user=bob, team=east, working_hours=ALWAYS)
    erin_rep = Rep.objects.create(user=erin, team=west, working_hours=ALWAYS)
    germany, france = Queue.objects.create(name="Germany", team=east), Queue.objects.create(name="France", team=west)
    queue_member_add(queue_id=germany.id, rep_id=alice_rep.id)
    queue_member_add(queue_id=france.id, rep_id=erin_rep.id)
    rules = {
        row: RoutingRule.objects.create(
            name=f"{country} leads",
            position=position,
            queue=queue,
            condition={"field": "lead.country", "op": "eq", "value": country},
        )
        for position, (row, country, queue) in enumerate([("ours", "DE", germany), ("theirs", "FR", france)])
    }

    source, _ = source_create(name="Web", kind="marketing")
    accounts = {
        "ours": Account.objects.create(name="Acme", domain="acme.de", owner=alice),
        "theirs": Account.objects.create(name="Globex", domain="globex.fr", owner=erin),
    }
    leads = {
        "ours": Lead.objects.create(email="hans@acme.de", country="DE", stage=Stage.MQL, owner=alice),
        "theirs": Lead.objects.create(email="ines@globex.fr", country="FR", stage=Stage.MQL, owner=erin),
    }
    assignments = {row: lead_route(lead_id=lead.id, trigger=RoutingTrigger.QUALIFIED) for row, lead in leads.items()}
    merged = Lead.objects.create(email="hans.old@acme.de", merged_into=leads["ours"])
    live = rule_version_install_default()
    draft = rule_version_clone(version=live, user=olivia)
    score = {"version": live, "fit": 10, "engagement": 5, "total": 15, "grade": "C", "is_mql": False}

    request_facts = {"user_agent": "curl", "http_accept": "*/*", "path_info": "/accounts/login/"}
    rows = {
        "auth.group": Group.objects.get(name=Role.REP.value),
        "auth.user": alice,
        "axes.accessattempt": AccessAttempt.objects.create(
            username="alice", ip_address="203.0.113.9", attempt_time=now, failures_since_start=5, **request_facts
        ),
        "axes.accesslog": AccessLog.objects.create(username="alice", ip_address="203.0.113.9", **request_facts),
        "axes.accessfailurelog": AccessFailureLog.objects.create(
            username="alice", ip_address="203.0.113.9", **request_facts
        ),
        "authtoken.tokenproxy": TokenProxy.objects.get(pk=Token.objects.create(user=bob).pk),
        "leads.source": source,
        "leads.campaign": Campaign.objects.create(name="Spring webinar", type="webinar"),
        "leads.account": accounts,
        "leads.lead": leads,
        "leads.event": Event.objects.create(
            source=source, message_id="m-1", type=EventType.TRACK, event="Signed Up", received_at=now, timestamp=now
        ),
        "leads.rejectedmessage": RejectedMessage.objects.create(source=source, reason="no event", received_at=now),
        "leads.identity": Identity.objects.create(kind=IdentityKind.USER_ID, value="u-hans", lead=leads["ours"]),
        "leads.stagechange": StageChange.objects.create(
            lead=leads["ours"], from_stage=Stage.NEW, to_stage=Stage.MQL, changed_at=now
        ),
        "leads.leadmerge": LeadMerge.objects.create(
            survivor=leads["ours"], merged=merged, merged_at=now, reason="same email"
        ),
        "leads.outcome": Outcome.objects.create(kind="won", lead=leads["ours"], amount=1000, occurred_at=now),
        "leads.deadletter": DeadLetter.objects.create(
            batch_id=uuid.uuid4(), source=source, event_count=1, error="ValueError: year 10000", set_aside_at=now
        ),
        "scoring.leadscore": LeadScore.objects.create(lead=leads["ours"], computed_at=now, **score),
        "scoring.scorechange": ScoreChange.objects.create(lead=leads["ours"], changed_at=now, **score),
        "scoring.ruleversion": {"draft": draft, "published": live},
        "routing.team": east,
        "routing.territory": Territory.objects.create(name="DACH", countries=["DE", "AT", "CH"]),
        "routing.holidaycalendar": HolidayCalendar.objects.create(name="Germany"),
        "routing.slapolicy": SlaPolicy.objects.create(
            name="MQL", stage=Stage.MQL, first_touch_minutes=60, warning_minutes=30
        ),
        "routing.rep": {"ours": alice_rep, "theirs": erin_rep},
        "routing.queue": {"ours": germany, "theirs": france},
        "routing.routingrule": rules,
        "routing.assignment": assignments,
        "routing.routingdecision": RoutingDecision.objects.get(lead=leads["ours"]),
        "routing.slaevent": SlaEvent.objects.create(assignment=assignments["ours"], kind="at_risk", at=now),
        "routing.activity": Activity.objects.create(lead=leads["ours"], kind="note", at=now, actor=alice),
        "insights.backtestrun": BacktestRun.objects.create(
            version=draft, compared_version=live, from_date=now.date(), to_date=now.date(), capacity=10, steps_total=4
        ),
        "insights.insightreport": InsightReport.objects.create(
            kind="precedes", params={"window": 30}, params_hash="0" * 64, requested_at=now, error="Broken"
        ),
    }
    users = {MANAGER: charlie, MARKETING_OPS: olivia, ADMIN: admin_user_qualify}
    return {
        "rows": {label: row if isinstance(row, dict) else {"row": row} for label, row in rows.items()},
        "users": users,
    }


def _snapshot() -> dict:
    """Every row of every model the admin shows: what a refused POST must leave alone."""
    return {
        label: list(model_admin.model._default_manager.order_by("pk").values())
        for label, model_admin in _registry().items()
    }


def _url_id(obj) -> int:
    # The token admin addresses a token by its user's id.
    return obj.user_id if isinstance(obj, TokenProxy) else obj.pk


def _admin_url(label: str, page: str, obj=None) -> str:
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{page}", args=[_url_id(obj)] if obj is not None else [])


def _custom_url(name: str, world) -> str:
    label, row, _ = CUSTOM_VIEWS[name]
    obj = world["rows"][label][row] if row else None
    return reverse(f"admin:{name}", args=[obj.pk] if obj is not None else [])


# --- the decisions are complete -------------------------------------------------------------


def test_every_registered_model_admin_has_a_decision():
    registered = set(_registry())

    assert registered - set(MATRIX) == set(), "registered in the admin without a decision in MATRIX"
    assert set(MATRIX) - registered == set(), "decided in MATRIX but not registered"
    assert all(set(MATRIX[label]) == set(ROLES) for label in MATRIX)


def test_every_action_has_a_decision(rf, admin_user_qualify):
    request = rf.get("/admin/")
    request.user = admin_user_qualify
    found = {
        label: set(model_admin.get_actions(request)) - {"delete_selected"} for label, model_admin in _registry().items()
    }

    assert {label: actions for label, actions in found.items() if actions} == {
        label: set(actions) for label, actions in ACTIONS.items()
    }


def test_every_custom_admin_page_has_a_decision():
    standard = {"changelist", "add", "change", "delete", "history", "autocomplete"}
    custom = set()
    for label, model_admin in _registry().items():
        prefix = label.replace(".", "_") + "_"
        for pattern in model_admin.get_urls():
            name = getattr(pattern, "name", None)
            if name and not (name.startswith(prefix) and name.removeprefix(prefix) in standard):
                custom.add(name)

    assert custom == set(CUSTOM_VIEWS)


# --- each role gets what was decided, and no more -------------------------------------------


def _normalized(ops: str) -> str:
    return "".join(op for op in "vacd" if op in ops)


def _observed(client, label: str, rows: dict) -> dict[str, str]:
    """What the admin actually lets the logged-in user do with each row, in the matrix's letters."""
    changelist = client.get(_admin_url(label, "changelist"))
    listed = {obj.pk for obj in changelist.context["cl"].result_list} if changelist.status_code == 200 else set()
    may_add = client.get(_admin_url(label, "add")).status_code == 200
    observed = {}
    for row, obj in rows.items():
        page = client.get(_admin_url(label, "change", obj))
        if page.status_code != 200:
            # Not on the list and no page: a 403, or the admin's "does not exist" redirect.
            observed[row] = ("?" if obj.pk in listed or page.status_code not in (302, 403) else "") + "a" * may_add
            continue
        letters = ("v" if obj.pk in listed else "?") + "a" * may_add
        letters += "c" * page.context["has_change_permission"] + "d" * page.context["has_delete_permission"]
        observed[row] = letters
    return observed


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_matrix_says(client, world, role):
    # given
    client.force_login(world["users"][role])

    # when
    observed = {label: _observed(client, label, world["rows"][label]) for label in MATRIX}

    # then: "?" marks a row listed without a page, or a page for a row not listed
    decided = {
        label: {row: _normalized(ops) for row, ops in _ops(label, role, world["rows"][label]).items()}
        for label in MATRIX
    }
    assert observed == decided


@pytest.mark.parametrize("role", ROLES)
def test_a_post_a_role_may_not_make_changes_nothing(client, world, role):
    # given
    client.force_login(world["users"][role])
    before = _snapshot()

    # when
    answers = {}
    for label in MATRIX:
        rows = world["rows"][label]
        ops = _ops(label, role, rows)
        if not any("a" in row_ops for row_ops in ops.values()):
            answers[(label, "add")] = client.post(_admin_url(label, "add"), {"name": "sneaked in"}).status_code
        for row, obj in rows.items():
            if "c" not in ops[row]:
                answers[(label, row, "change")] = client.post(
                    _admin_url(label, "change", obj), {"name": "changed", "capacity": 1, "owner": ""}
                ).status_code
            if "d" not in ops[row]:
                answers[(label, row, "delete")] = client.post(
                    _admin_url(label, "delete", obj), {"post": "yes"}
                ).status_code

    # then: refused (403), or sent away from a row the role may not even see (302)
    assert {key: status for key, status in answers.items() if status not in (302, 403)} == {}
    assert _snapshot() == before


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_offered_only_its_actions_and_the_others_do_nothing(client, world, role):
    # given
    client.force_login(world["users"][role])
    before = _snapshot()

    # when
    offered = {}
    for label, decided in ACTIONS.items():
        url = _admin_url(label, "changelist")
        changelist = client.get(url)
        # No action at all: the list has no action form.
        action_form = changelist.context.get("action_form") if changelist.status_code == 200 else None
        choices = action_form.fields["action"].choices if action_form else []
        offered[label] = {value for value, _ in choices if value and value != "delete_selected"}
        selected = [obj.pk for obj in world["rows"][label].values()]
        for name in (name for name, roles in decided.items() if role not in roles):
            client.post(url, {"action": name, "_selected_action": selected})

    # then
    assert offered == {
        label: {name for name, roles in decided.items() if role in roles} for label, decided in ACTIONS.items()
    }
    assert _snapshot() == before


@pytest.mark.parametrize("role", ROLES)
def test_each_custom_admin_page_opens_only_for_its_roles(client, world, role):
    # given
    client.force_login(world["users"][role])
    before = _snapshot()

    # when
    answers = {}
    for name, (_, _, roles) in CUSTOM_VIEWS.items():
        url = _custom_url(name, world)
        answers[name] = client.get(url).status_code
        if role not in roles:
            client.post(url, {"to_stage": Stage.SQL, "reason": "x", "kind": "accounts"})

    # then: POST-only pages answer a GET with 405 whoever asks
    assert answers == {
        name: 405 if name in POST_ONLY else 200 if role in roles else 403
        for name, (_, _, roles) in CUSTOM_VIEWS.items()
    }
    assert _snapshot() == before


def test_the_stage_page_refuses_a_manager_another_teams_lead(client, world):
    # given
    client.force_login(world["users"][MANAGER])
    theirs = world["rows"]["leads.lead"]["theirs"]

    # when
    response = client.post(
        reverse("admin:leads_lead_change_stage", args=[theirs.pk]), {"to_stage": Stage.SQL, "reason": "x"}
    )

    # then
    assert response.status_code == 403
    assert Lead.objects.get(pk=theirs.pk).stage == Stage.MQL


# --- the door --------------------------------------------------------------------------------


def _every_admin_url(world) -> list[str]:
    urls = [reverse("admin:index")]
    for label in MATRIX:
        urls += [_admin_url(label, "changelist"), _admin_url(label, "add")]
        for obj in world["rows"][label].values():
            urls += [_admin_url(label, "change", obj), _admin_url(label, "delete", obj)]
    return urls + [_custom_url(name, world) for name in CUSTOM_VIEWS]


@pytest.mark.parametrize("who", ["a rep made staff with permissions", "staff without a role"])
def test_only_managers_marketing_ops_and_admins_get_into_the_admin(client, world, django_user_model, who):
    # given: a rep given is_staff and every permission on leads by mistake, or a staff account with no role
    if who == "staff without a role":
        user = django_user_model.objects.create_user(username="intern", is_staff=True)
    else:
        user = world["rows"]["auth.user"]["row"]
        django_user_model.objects.filter(pk=user.pk).update(is_staff=True)
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="leads"))
    client.force_login(django_user_model.objects.get(pk=user.pk))
    before = _snapshot()

    # when
    answers = {}
    for url in _every_admin_url(world):
        for method in (client.get, client.post):
            response = method(url, {"post": "yes", "action": "route_now"})
            answers[(method.__name__, url)] = (response.status_code, response.get("Location", "").split("?")[0])

    # then: the login page, every time, and nothing changed
    login = reverse("admin:login")
    assert set(answers.values()) == {(302, login)}, [k for k, v in answers.items() if v != (302, login)]
    assert _snapshot() == before
