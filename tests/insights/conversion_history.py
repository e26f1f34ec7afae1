"""A small hand-built history for the conversion tests, built through the real services at the
real moments (time_machine), where every count, rate and median is known exactly.

MQL funnel, 1 Jan to 31 Mar 2026, every move at 10:00 UTC:

    lead  MQL (version)   source   campaign        account  accepted  SQL     opportunity  won
    ada   5 Jan (v1)      Webinars Spring webinar  smb      6 Jan     9 Jan   19 Jan       18 Feb
    bo    10 Jan (v1)     Webinars Spring webinar  smb      12 Jan    16 Jan
    cy    20 Jan (v2)     Paid     Brand ads       mid      24 Jan, then rejected to nurture
    di    25 Jan (v1)     -        -               -
    jo    8 Jan (v1)      Paid     -               -        (then PQL 9 Jan: in both funnels)
    ed    3 Feb (v2)      Paid     Brand ads       mid      won 5 Mar (the CRM's closed won), no step between
    fe    10 Feb (hand)   Webinars -               smb      11 Feb
    gu    2 Mar (v2)      Paid     Brand ads       mid

Left out of that funnel: hal (first MQL 15 Dec 2025, again 15 Jan after nurture), ivy (PQL only,
7 Jan, accepted 8 Jan), kim (merged into ada), lu (MQL 2 Apr, after the range), mo (MQL 6 Oct
2025, closed won 10 Mar, which the CRM corrected to closed lost on 12 Mar).
"""

from datetime import UTC, datetime

import time_machine

from leads.models import Account, Campaign, CampaignType, Lead, OutcomeKind, Source, Stage
from leads.services.stages import StageTransition, lead_stage_change, leads_stage_transition_bulk
from qualify_site.roles import Role
from routing.services.actions import assignment_accept, assignment_reject, lead_convert_to_sql
from routing.services.assignments import lead_route
from routing.services.outcome_input import OutcomeInput
from routing.services.outcomes import outcome_record
from scoring.models import RuleVersion
from tests.routing.world import make_queue, make_rep, rep_user, rule


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 10, 0, tzinfo=UTC)


class History:
    def __init__(self, django_user_model):
        self.rep = make_rep(rep_user(django_user_model, "rita", role=Role.REP))
        rule("Everyone", make_queue("Inbound", [self.rep]), 1)
        self.v1 = RuleVersion.objects.create(number=1, name="Default")
        self.v2 = RuleVersion.objects.create(number=2, name="Pricing matters")
        self.webinars = Source.objects.create(name="Webinars", kind="marketing", write_key_hash="a" * 64)
        self.paid = Source.objects.create(name="Paid search", kind="marketing", write_key_hash="b" * 64)
        self.spring = Campaign.objects.create(name="Spring webinar", type=CampaignType.WEBINAR)
        self.brand = Campaign.objects.create(name="Brand ads", type=CampaignType.PAID)
        self.small = Account.objects.create(name="Small", domain="small.io", employee_count=50)
        self.mid = Account.objects.create(name="Mid", domain="mid.io", employee_count=500)
        self.assignments = {}

    def lead(self, name: str, **fields) -> Lead:
        return Lead.objects.create(email=f"{name}@example.com", first_name=name.title(), **fields)

    def qualify(self, lead: Lead, when: datetime, version: RuleVersion | None = None, stage: str = Stage.MQL):
        """Scoring's move (with its evidence), or a person's when no version is given."""
        lead.refresh_from_db()
        if version is None:
            with time_machine.travel(when, tick=False):
                lead_stage_change(lead_id=lead.id, to_stage=stage, actor=None, reason="Qualified by hand")
            return
        evidence = {"rule_version": version.number, "rule_version_id": version.id}
        transition = StageTransition(lead.id, lead.stage, stage, when, "scoring", "", evidence)
        leads_stage_transition_bulk(transitions=[transition])

    def accept(self, lead: Lead, when: datetime):
        with time_machine.travel(when, tick=False):
            assignment = lead_route(lead_id=lead.id, trigger="qualified")
            assignment_accept(assignment_id=assignment.id, user=self.rep.user)
        self.assignments[lead.id] = assignment

    def convert(self, lead: Lead, when: datetime):
        with time_machine.travel(when, tick=False):
            lead_convert_to_sql(assignment_id=self.assignments[lead.id].id, user=self.rep.user)

    def reject(self, lead: Lead, when: datetime):
        with time_machine.travel(when, tick=False):
            assignment_reject(assignment_id=self.assignments[lead.id].id, user=self.rep.user, reason="Not a fit")

    def crm(self, lead: Lead, when: datetime, deal: str, kind: str):
        """What the CRM says of the lead's deal, through the outcome service (which moves the stage)."""
        with time_machine.travel(when, tick=False):
            outcome_record(data=OutcomeInput(external_id=deal, kind=kind, occurred_at=when, lead_id=lead.id))

    def move(self, lead: Lead, when: datetime, stage: str, reason: str = ""):
        with time_machine.travel(when, tick=False):
            lead_stage_change(lead_id=lead.id, to_stage=stage, actor=None, reason=reason, evidence={"outcome": 1})


def build_history(django_user_model) -> History:
    h = History(django_user_model)
    ada = h.lead("ada", source=h.webinars, campaign=h.spring, account=h.small)
    h.qualify(ada, at(1, 5), h.v1)
    h.accept(ada, at(1, 6))
    h.convert(ada, at(1, 9))
    h.move(ada, at(1, 19), Stage.OPPORTUNITY)
    h.move(ada, at(2, 18), Stage.WON)

    bo = h.lead("bo", source=h.webinars, campaign=h.spring, account=h.small)
    h.qualify(bo, at(1, 10), h.v1)
    h.accept(bo, at(1, 12))
    h.convert(bo, at(1, 16))

    cy = h.lead("cy", source=h.paid, campaign=h.brand, account=h.mid)
    h.qualify(cy, at(1, 20), h.v2)
    h.accept(cy, at(1, 24))
    h.reject(cy, at(1, 26))

    di = h.lead("di")
    h.qualify(di, at(1, 25), h.v1)

    jo = h.lead("jo", source=h.paid)
    h.qualify(jo, at(1, 8), h.v1)
    h.qualify(jo, at(1, 9), h.v2, stage=Stage.PQL)

    ed = h.lead("ed", source=h.paid, campaign=h.brand, account=h.mid)
    h.qualify(ed, at(2, 3), h.v2)
    h.crm(ed, at(3, 5), "deal-ed", OutcomeKind.CLOSED_WON)

    fe = h.lead("fe", source=h.webinars, account=h.small)
    h.qualify(fe, at(2, 10))
    h.accept(fe, at(2, 11))

    gu = h.lead("gu", source=h.paid, campaign=h.brand, account=h.mid)
    h.qualify(gu, at(3, 2), h.v2)

    hal = h.lead("hal", source=h.webinars)
    h.qualify(hal, at(12, 15, year=2025), h.v1)
    h.move(hal, at(12, 20, year=2025), Stage.NURTURE, reason="Not now")
    h.qualify(hal, at(1, 15), h.v1)

    ivy = h.lead("ivy", source=h.paid)
    h.qualify(ivy, at(1, 7), h.v2, stage=Stage.PQL)
    h.accept(ivy, at(1, 8))

    # Found to be Ada (the merge service's result): Ada carries the person.
    kim = h.lead("kim", source=h.webinars, merged_into=ada)
    h.qualify(kim, at(1, 3), h.v1)

    lu = h.lead("lu", source=h.paid)
    h.qualify(lu, at(4, 2), h.v2)

    mo = h.lead("mo", source=h.paid)
    h.qualify(mo, at(10, 6, year=2025), h.v2)
    h.crm(mo, at(3, 10), "deal-mo", OutcomeKind.CLOSED_WON)
    h.crm(mo, at(3, 12), "deal-mo", OutcomeKind.CLOSED_LOST)
    return h
