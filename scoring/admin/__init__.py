"""The scoring admin, where marketing ops write, check, preview and publish rules.

Who may do what is decided by role, here and on the server (`qualify_site.roles`):
marketing ops and admins edit and publish, sales managers look, reps never get in.
Only drafts are editable: published and archived versions render read-only, and the
model layer and database triggers refuse any change anyway (scoring/models.py).
"""

from scoring.admin.forms import DEFINITION_EXAMPLES, example_rule
from scoring.admin.scores import LeadScoreAdmin, ScoreChangeAdmin
from scoring.admin.versions import RuleVersionAdmin

__all__ = ["DEFINITION_EXAMPLES", "LeadScoreAdmin", "RuleVersionAdmin", "ScoreChangeAdmin", "example_rule"]
