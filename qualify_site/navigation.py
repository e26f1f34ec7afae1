"""Where each role lands and what its top navigation offers, written once.

The home page and the navigation bar read these maps; when the rep's queue
and the manager's board exist, only the maps change. What a role may use is
still enforced by each page (selectors, the admin's permissions): a link left
out here is a courtesy, never the guard.
"""

from dataclasses import dataclass

from django.urls import reverse

from qualify_site.roles import Role, user_roles

# The first of a person's roles in this order decides their home: someone who
# is both a manager and a rep starts from the manager's view of everyone.
HOME_BY_ROLE: dict[Role, str] = {
    Role.ADMIN: "admin:index",
    Role.MANAGER: "routing:board",
    Role.MARKETING_OPS: "admin:scoring_ruleversion_changelist",
    Role.REP: "routing:queue",
}
HOME_WITHOUT_ROLE = "scoring:definitions"


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    fragment: str = ""

    @property
    def url(self) -> str:
        return reverse(self.url_name) + (f"#{self.fragment}" if self.fragment else "")


MY_WORK = NavItem("My work", "routing:queue")
BOARD = NavItem("Board", "routing:board")
STAGE_DEFINITIONS = NavItem("Stage definitions", "scoring:definitions")
ASSIGNMENTS = NavItem("Assignments", "admin:routing_assignment_changelist")
ROUTING = NavItem("Routing", "admin:routing_routingrule_changelist")
CONVERSION = NavItem("Conversion", "insights:conversion")
RULE_VERSIONS = NavItem("Rule versions", "admin:scoring_ruleversion_changelist")
ADMIN = NavItem("Admin", "admin:index")

NAV_BY_ROLE: dict[Role, tuple[NavItem, ...]] = {
    Role.REP: (MY_WORK, STAGE_DEFINITIONS),
    Role.MANAGER: (BOARD, CONVERSION, ASSIGNMENTS, ROUTING, STAGE_DEFINITIONS),
    Role.MARKETING_OPS: (RULE_VERSIONS, CONVERSION, STAGE_DEFINITIONS),
    Role.ADMIN: (ADMIN, BOARD, CONVERSION, ASSIGNMENTS, ROUTING, RULE_VERSIONS, STAGE_DEFINITIONS),
}


def home_url_name(user) -> str:
    roles = user_roles(user)
    return next((url_name for role, url_name in HOME_BY_ROLE.items() if role in roles), HOME_WITHOUT_ROLE)


def nav_items(user) -> list[NavItem]:
    """The union of the user's roles' items, each once, in the order of the first role offering it."""
    roles = user_roles(user)
    items: list[NavItem] = []
    for role, role_items in NAV_BY_ROLE.items():
        if role in roles:
            items += [item for item in role_items if item not in items]
    return items


def navigation(request) -> dict:
    """Context processor: the signed-in user's navigation items."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {"nav_items": nav_items(user)}
