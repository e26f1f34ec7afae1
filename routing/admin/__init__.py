"""Routing in the admin: the sales org, queues, rules and SLAs; assignments and the audit.

Who may do what here is decided by role, not by Django model permissions:
admins and sales managers configure routing, marketing ops read the
configuration and the decisions (they shape the scoring that feeds the rules)
but never the work on leads. A manager acts on their own team only, as in the
API: their team's reps (capacity, out of office, the rest of the profile, all
through routing.services.reps), queues and the rules that feed those queues;
other teams' rows are read-only to them. Teams themselves (who manages whom,
which every other check derives from) are the admins'. Territories, holiday
calendars and SLA policies are shared by every team. Records of what happened
(assignments, decisions, SLA events, activities) are read-only for everyone;
they change only through the services. The whole matrix, role by role, is
tested in tests/test_admin_site.py.

One module a part: access.py (the role mixins above), org.py (teams, territories, holiday
calendars, reps, queues), rules.py (routing rules, SLA policies, re-routing), records.py
(assignments, decisions and the preview, SLA events, activities). routing/lead_admin.py
holds the lead and account pages.
"""

from routing.admin.org import HolidayCalendarAdmin, QueueAdmin, RepAdmin, TeamAdmin, TerritoryAdmin
from routing.admin.records import ActivityAdmin, AssignmentAdmin, RoutingDecisionAdmin, SlaEventAdmin
from routing.admin.rules import RoutingRuleAdmin, SlaPolicyAdmin

# isort: split
# The lead and account pages: their actions (owner, stage by hand, route now) are routing's.
# The outcome pages too: recording one moves its leads (routing/outcome_admin.py).
from routing import lead_admin, outcome_admin  # noqa: F401 - registers the Lead, Account and Outcome admins

__all__ = [
    "ActivityAdmin",
    "AssignmentAdmin",
    "HolidayCalendarAdmin",
    "QueueAdmin",
    "RepAdmin",
    "RoutingDecisionAdmin",
    "RoutingRuleAdmin",
    "SlaEventAdmin",
    "SlaPolicyAdmin",
    "TeamAdmin",
    "TerritoryAdmin",
]
