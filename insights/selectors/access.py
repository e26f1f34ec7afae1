"""Who reads insights: one rule for every page and API of this app.

Conversion, calibration and what precedes buying are organisation-wide figures (totals, never
leads), read by managers, marketing ops and admins; reps do not see them (403). Managers read them
org-wide, not for their team alone: a source's rate is the whole company's, and a team cut would
mix routing into it. Starting work
(recomputing a report, a backtest) is for those who own the rules: marketing ops and admins.
"""

from qualify_site.roles import Role, user_has_role

READER_ROLES = (Role.MANAGER, Role.MARKETING_OPS, Role.ADMIN)
RULE_OWNER_ROLES = (Role.MARKETING_OPS, Role.ADMIN)


def insights_readable_by(user) -> bool:
    return user_has_role(user, *READER_ROLES)


def insights_recomputable_by(user) -> bool:
    """Who starts insight work: recomputing a report, starting or deleting a backtest."""
    return user_has_role(user, *RULE_OWNER_ROLES)
