"""REST API for routing: one view per operation, thin.

Visibility comes from routing.selectors.visibility (an assignment the user may not see
answers 404, so its existence does not leak); what the user may *do* is
checked again by the services (routing.permissions), whose PermissionDenied
answers 403 and whose ValidationError answers 400 naming the field.

One module per resource: assignments.py (the list, one assignment and the actions on it),
queue.py (the rep's queue), leads.py (route, preview, timeline), ownership.py (who owns a
lead or an account), reps.py (capacity, absences); base.py holds what they share (the roles
allowed, the input read, service errors as answers). routing/api/urls.py names the views
from here (`views.AssignmentListApi`).
"""

from routing.api.views.assignments import (
    AssignmentAcceptApi,
    AssignmentActivityCreateApi,
    AssignmentConvertApi,
    AssignmentDetailApi,
    AssignmentDisqualifyApi,
    AssignmentListApi,
    AssignmentMeetingBookApi,
    AssignmentReassignApi,
    AssignmentRejectApi,
    AssignmentRequestReassignmentApi,
)
from routing.api.views.leads import LeadRouteApi, LeadRoutePreviewApi, LeadTimelineApi
from routing.api.views.ownership import AccountOwnerSetApi, LeadOwnerSetApi
from routing.api.views.queue import AssignmentQueueApi
from routing.api.views.reps import RepCapacitySetApi, RepOutOfOfficeAddApi

__all__ = [
    "AccountOwnerSetApi",
    "AssignmentAcceptApi",
    "AssignmentActivityCreateApi",
    "AssignmentConvertApi",
    "AssignmentDetailApi",
    "AssignmentDisqualifyApi",
    "AssignmentListApi",
    "AssignmentMeetingBookApi",
    "AssignmentQueueApi",
    "AssignmentReassignApi",
    "AssignmentRejectApi",
    "AssignmentRequestReassignmentApi",
    "LeadOwnerSetApi",
    "LeadRouteApi",
    "LeadRoutePreviewApi",
    "LeadTimelineApi",
    "RepCapacitySetApi",
    "RepOutOfOfficeAddApi",
]
