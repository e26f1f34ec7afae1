"""Role groups and the Django model permissions each one gets.

Roles are Django groups (created by migration 0002). What a role may *see* is
decided in selectors; the permissions here decide what it may do in the admin.
`roles_sync()` is idempotent: it sets each group's permissions to exactly the
list below, so running it again after a deploy fixes any drift made by hand.
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from qualify_site.roles import Role

# (app_label, model, actions). Sources and their write keys belong to admins:
# a key authenticates writes into the pipeline, so marketing ops only view them.
_READ_MODELS = ["event", "identity", "rejectedmessage", "stagechange", "leadmerge", "outcome", "source"]
_SCORING_MODELS = ["ruleversion", "rule", "leadscore", "scorechange"]

ROLE_PERMISSIONS: dict[Role, list[tuple[str, str, tuple[str, ...]]]] = {
    Role.REP: [],
    Role.MANAGER: [
        # Managers reassign owners in the admin; the rest of a lead is read-only to them (see LeadAdmin).
        ("leads", "lead", ("view", "change")),
        ("leads", "account", ("view", "change")),
        ("leads", "campaign", ("view",)),
        *[("leads", model, ("view",)) for model in _READ_MODELS],
        *[("scoring", model, ("view",)) for model in _SCORING_MODELS],
    ],
    Role.MARKETING_OPS: [
        # add + change on leads and accounts is what the CSV import needs (it upserts).
        ("leads", "lead", ("view", "add", "change")),
        ("leads", "account", ("view", "add", "change")),
        ("leads", "campaign", ("view", "add", "change")),
        # Outcomes from the CRM (CSV, API): what their definitions are validated against.
        # Recording one again with changed data updates it, hence change.
        ("leads", "outcome", ("view", "add", "change")),
        *[("leads", model, ("view",)) for model in _READ_MODELS if model != "outcome"],
        # Marketing ops own the scoring definitions (drafts; published ones are immutable).
        ("scoring", "ruleversion", ("view", "add", "change", "delete")),
        ("scoring", "rule", ("view", "add", "change", "delete")),
        ("scoring", "leadscore", ("view",)),
        ("scoring", "scorechange", ("view",)),
    ],
}


def _permissions_for(role: Role) -> list[Permission]:
    if role == Role.ADMIN:
        return list(Permission.objects.all())
    wanted = [
        (app_label, f"{action}_{model}") for app_label, model, actions in ROLE_PERMISSIONS[role] for action in actions
    ]
    found = {
        (p.content_type.app_label, p.codename): p
        for p in Permission.objects.select_related("content_type").filter(
            codename__in=[codename for _, codename in wanted]
        )
    }
    missing = [w for w in wanted if w not in found]
    if missing:
        # Permissions are created by post_migrate; a missing one means a typo here or an unmigrated database.
        raise LookupError(f"Permissions not found for {role}: {missing}")
    return [found[w] for w in wanted]


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Create the role groups if needed and set their permissions. Returns permission counts by group name."""
    counts = {}
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        permissions = _permissions_for(role)
        group.permissions.set(permissions)
        counts[role.value] = len(permissions)
    return counts
