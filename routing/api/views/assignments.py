"""The assignment API: the list, one assignment, and what a rep or manager does with it.

Each action reads visibility first (404), then the input (400 naming the field), then calls
the service (403 and 400 from its PermissionDenied and ValidationError).
"""

from datetime import UTC, datetime

from django.db.models import Value
from django.db.models.functions import Coalesce
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from qualify_site.api.pagination import StrictCursorPagination
from routing.api.filters import AssignmentFilter
from routing.api.serializers import ActivitySerializer, AssignmentSerializer
from routing.api.views.base import RoutingApi, service_errors, validated_input
from routing.models import Assignment
from routing.selectors import visibility
from routing.selectors.policy import active_assignment_for_lead
from routing.services import actions, assignments
from routing.services.actions import LOGGABLE_KINDS

# Assignments without a due time (waiting, or no SLA policy) sort after every dated one.
NO_DUE_TIME = datetime(9999, 12, 31, tzinfo=UTC)


class DueFirstPagination(StrictCursorPagination):
    ordering = ("due_sort", "id")


@extend_schema_serializer(component_name="Assignment")
class AssignmentOutput(AssignmentSerializer):
    pass


@extend_schema(tags=["routing"])
class AssignmentListApi(RoutingApi, generics.ListAPIView):
    """Assignments the user may work, most urgent (earliest due) first."""

    serializer_class = AssignmentOutput
    filterset_class = AssignmentFilter
    pagination_class = DueFirstPagination

    def get_queryset(self):
        return visibility.assignment_list(user=self.request.user).annotate(
            due_sort=Coalesce("due_at", Value(NO_DUE_TIME))
        )


@extend_schema(tags=["routing"])
class AssignmentDetailApi(RoutingApi, generics.RetrieveAPIView):
    serializer_class = AssignmentOutput
    queryset = Assignment.objects.none()  # for the schema; the object comes from the selector

    def get_object(self):
        return visible_assignment(self.request, self.kwargs["assignment_id"])


def visible_assignment(request, assignment_id: int) -> Assignment:
    assignment = visibility.assignment_get(user=request.user, assignment_id=assignment_id)
    if assignment is None:
        raise Http404
    return assignment


def assignment_response(assignment: Assignment, status_code: int = status.HTTP_200_OK) -> Response:
    # Reload through the same joins as the list, so the output is complete and current.
    fresh = Assignment.objects.select_related("lead", "lead__account", "rep", "rep__user", "queue", "rule").get(
        id=assignment.id
    )
    return Response(AssignmentOutput(fresh).data, status=status_code)


def _assignment_action(request, assignment_id: int, service, input_serializer=None):
    """Visibility first (404), then the input (400 naming the field), then the
    service, whose PermissionDenied and ValidationError become 403 and 400."""
    visible_assignment(request, assignment_id)
    data = validated_input(input_serializer, request) if input_serializer is not None else {}
    with service_errors():
        return service(assignment_id=assignment_id, user=request.user, **data)


class _ReasonInput(serializers.Serializer):
    # Blank passes here so that the service, which owns the rule, words the error.
    reason = serializers.CharField(max_length=500, allow_blank=True, trim_whitespace=True)


@extend_schema(tags=["routing"])
class AssignmentAcceptApi(RoutingApi):
    @extend_schema(request=None, responses=AssignmentOutput)
    def post(self, request, assignment_id: int):
        return assignment_response(_assignment_action(request, assignment_id, actions.assignment_accept))


@extend_schema(tags=["routing"])
class AssignmentRejectApi(RoutingApi):
    @extend_schema_serializer(component_name="AssignmentRejectInput")
    class InputSerializer(_ReasonInput):
        pass

    @extend_schema(request=InputSerializer, responses=AssignmentOutput)
    def post(self, request, assignment_id: int):
        assignment = _assignment_action(request, assignment_id, actions.assignment_reject, self.InputSerializer)
        return assignment_response(assignment)


@extend_schema_serializer(component_name="Activity")
class _ActivityOutput(ActivitySerializer):
    pass


@extend_schema(tags=["routing"])
class AssignmentActivityCreateApi(RoutingApi):
    @extend_schema_serializer(component_name="ActivityLogInput")
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=[(kind.value, kind.label) for kind in LOGGABLE_KINDS])
        notes = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={201: _ActivityOutput})
    def post(self, request, assignment_id: int):
        activity = _assignment_action(request, assignment_id, actions.activity_log, self.InputSerializer)
        return Response(_ActivityOutput(activity).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["routing"])
class AssignmentMeetingBookApi(RoutingApi):
    @extend_schema_serializer(component_name="MeetingBookInput")
    class InputSerializer(serializers.Serializer):
        starts_at = serializers.DateTimeField()
        notes = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={201: _ActivityOutput})
    def post(self, request, assignment_id: int):
        activity = _assignment_action(request, assignment_id, actions.meeting_book, self.InputSerializer)
        return Response(_ActivityOutput(activity).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["routing"])
class AssignmentConvertApi(RoutingApi):
    @extend_schema_serializer(component_name="ConvertToSqlInput")
    class InputSerializer(serializers.Serializer):
        notes = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses=AssignmentOutput)
    def post(self, request, assignment_id: int):
        assignment = _assignment_action(request, assignment_id, actions.lead_convert_to_sql, self.InputSerializer)
        return assignment_response(assignment)


@extend_schema(tags=["routing"])
class AssignmentDisqualifyApi(RoutingApi):
    @extend_schema_serializer(component_name="DisqualifyInput")
    class InputSerializer(_ReasonInput):
        pass

    @extend_schema(request=InputSerializer, responses=AssignmentOutput)
    def post(self, request, assignment_id: int):
        assignment = _assignment_action(request, assignment_id, actions.lead_disqualify, self.InputSerializer)
        return assignment_response(assignment)


@extend_schema(tags=["routing"])
class AssignmentRequestReassignmentApi(RoutingApi):
    @extend_schema_serializer(component_name="ReassignmentRequestInput")
    class InputSerializer(_ReasonInput):
        pass

    @extend_schema(request=InputSerializer, responses=AssignmentOutput)
    def post(self, request, assignment_id: int):
        assignment = _assignment_action(
            request, assignment_id, actions.assignment_request_reassignment, self.InputSerializer
        )
        return assignment_response(assignment)


@extend_schema(tags=["routing"])
class AssignmentReassignApi(RoutingApi):
    """A manager moves the lead: to `to_rep`, or to the queue's next available rep.

    Answers with the lead's new assignment; when nobody is available it waits in the queue."""

    @extend_schema_serializer(component_name="ReassignInput")
    class InputSerializer(serializers.Serializer):
        to_rep = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="A rep id.")
        reason = serializers.CharField(max_length=500)

    @extend_schema(request=InputSerializer, responses=AssignmentOutput)
    def post(self, request, assignment_id: int):
        current = visible_assignment(request, assignment_id)
        data = validated_input(self.InputSerializer, request)
        with service_errors():
            new = assignments.assignment_reassign_to_next(
                assignment_id=assignment_id, actor=request.user, reason=data["reason"], to_rep_id=data["to_rep"]
            )
        return assignment_response(new or active_assignment_for_lead(current.lead_id))
