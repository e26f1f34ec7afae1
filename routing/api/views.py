"""REST API for routing: one view per operation, thin.

Visibility comes from routing.selectors.visibility (an assignment the user may not see
answers 404, so its existence does not leak); what the user may *do* is
checked again by the services (routing.permissions), whose PermissionDenied
answers 403 and whose ValidationError answers 400 naming the field.
"""

from contextlib import contextmanager
from datetime import UTC, datetime

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from leads import selectors as lead_selectors
from leads.api.permissions import HasQualifyRole
from leads.api.serializers import UserSummarySerializer
from leads.models import Lead, Stage
from qualify_site.api.pagination import StrictCursorPagination
from qualify_site.roles import Role, user_has_role
from routing.api.filters import AssignmentFilter
from routing.api.serializers import (
    ActivitySerializer,
    AssignmentSerializer,
    OutOfOfficeSerializer,
    QueueSummarySerializer,
    RepSerializer,
    RepSummarySerializer,
    RuleSummarySerializer,
    TimelineEntrySerializer,
)
from routing.models import Assignment, RoutingTrigger
from routing.selectors import queue as queue_selectors
from routing.selectors import visibility
from routing.selectors.policy import active_assignment_for_lead
from routing.selectors.queue import SlaState
from routing.services import actions, assignments, ownership, reps
from routing.services.actions import LOGGABLE_KINDS

# Assignments without a due time (waiting, or no SLA policy) sort after every dated one.
NO_DUE_TIME = datetime(9999, 12, 31, tzinfo=UTC)


def _roles_allowed(*roles: Role, message: str) -> type[BasePermission]:
    class RolesAllowed(BasePermission):
        def has_permission(self, request, view) -> bool:
            return user_has_role(request.user, *roles)

    RolesAllowed.message = message
    return RolesAllowed


# Marketing ops shape rules and read decisions; they never work or move leads (issue 4).
WorksAssignments = _roles_allowed(
    Role.REP, Role.MANAGER, Role.ADMIN, message="Only reps, their managers and admins work assignments."
)
ManagesRouting = _roles_allowed(Role.MANAGER, Role.ADMIN, message="Only managers and admins can do this.")
PreviewsRouting = _roles_allowed(
    Role.MANAGER, Role.MARKETING_OPS, Role.ADMIN, message="Only managers, marketing ops and admins preview routing."
)


@contextmanager
def _service_errors():
    """Service exceptions as API answers; PermissionDenied is DRF's own 403."""
    try:
        yield
    except DjangoValidationError as error:
        detail = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
        raise serializers.ValidationError(detail) from error
    except ObjectDoesNotExist as error:
        raise Http404 from error


class _RoutingApi(APIView):
    permission_classes = [IsAuthenticated, HasQualifyRole, WorksAssignments]


class DueFirstPagination(StrictCursorPagination):
    ordering = ("due_sort", "id")


@extend_schema_serializer(component_name="Assignment")
class _AssignmentOutput(AssignmentSerializer):
    pass


@extend_schema(tags=["routing"])
class AssignmentListApi(_RoutingApi, generics.ListAPIView):
    """Assignments the user may work, most urgent (earliest due) first."""

    serializer_class = _AssignmentOutput
    filterset_class = AssignmentFilter
    pagination_class = DueFirstPagination

    def get_queryset(self):
        return visibility.assignment_list(user=self.request.user).annotate(
            due_sort=Coalesce("due_at", Value(NO_DUE_TIME))
        )


@extend_schema(tags=["routing"])
class AssignmentDetailApi(_RoutingApi, generics.RetrieveAPIView):
    serializer_class = _AssignmentOutput
    queryset = Assignment.objects.none()  # for the schema; the object comes from the selector

    def get_object(self):
        return _visible_assignment(self.request, self.kwargs["assignment_id"])


def _visible_assignment(request, assignment_id: int) -> Assignment:
    assignment = visibility.assignment_get(user=request.user, assignment_id=assignment_id)
    if assignment is None:
        raise Http404
    return assignment


def _input(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _assignment_response(assignment: Assignment, status_code: int = status.HTTP_200_OK) -> Response:
    # Reload through the same joins as the list, so the output is complete and current.
    fresh = Assignment.objects.select_related("lead", "lead__account", "rep", "rep__user", "queue", "rule").get(
        id=assignment.id
    )
    return Response(_AssignmentOutput(fresh).data, status=status_code)


def _assignment_action(request, assignment_id: int, service, input_serializer=None):
    """Visibility first (404), then the input (400 naming the field), then the
    service, whose PermissionDenied and ValidationError become 403 and 400."""
    _visible_assignment(request, assignment_id)
    data = _input(input_serializer, request) if input_serializer is not None else {}
    with _service_errors():
        return service(assignment_id=assignment_id, user=request.user, **data)


class _ReasonInput(serializers.Serializer):
    # Blank passes here so that the service, which owns the rule, words the error.
    reason = serializers.CharField(max_length=500, allow_blank=True, trim_whitespace=True)


@extend_schema(tags=["routing"])
class AssignmentAcceptApi(_RoutingApi):
    @extend_schema(request=None, responses=_AssignmentOutput)
    def post(self, request, assignment_id: int):
        return _assignment_response(_assignment_action(request, assignment_id, actions.assignment_accept))


@extend_schema(tags=["routing"])
class AssignmentRejectApi(_RoutingApi):
    @extend_schema_serializer(component_name="AssignmentRejectInput")
    class InputSerializer(_ReasonInput):
        pass

    @extend_schema(request=InputSerializer, responses=_AssignmentOutput)
    def post(self, request, assignment_id: int):
        assignment = _assignment_action(request, assignment_id, actions.assignment_reject, self.InputSerializer)
        return _assignment_response(assignment)


@extend_schema_serializer(component_name="Activity")
class _ActivityOutput(ActivitySerializer):
    pass


@extend_schema(tags=["routing"])
class AssignmentActivityCreateApi(_RoutingApi):
    @extend_schema_serializer(component_name="ActivityLogInput")
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=[(kind.value, kind.label) for kind in LOGGABLE_KINDS])
        notes = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={201: _ActivityOutput})
    def post(self, request, assignment_id: int):
        activity = _assignment_action(request, assignment_id, actions.activity_log, self.InputSerializer)
        return Response(_ActivityOutput(activity).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["routing"])
class AssignmentMeetingBookApi(_RoutingApi):
    @extend_schema_serializer(component_name="MeetingBookInput")
    class InputSerializer(serializers.Serializer):
        starts_at = serializers.DateTimeField()
        notes = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={201: _ActivityOutput})
    def post(self, request, assignment_id: int):
        activity = _assignment_action(request, assignment_id, actions.meeting_book, self.InputSerializer)
        return Response(_ActivityOutput(activity).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["routing"])
class AssignmentConvertApi(_RoutingApi):
    @extend_schema_serializer(component_name="ConvertToSqlInput")
    class InputSerializer(serializers.Serializer):
        notes = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses=_AssignmentOutput)
    def post(self, request, assignment_id: int):
        assignment = _assignment_action(request, assignment_id, actions.lead_convert_to_sql, self.InputSerializer)
        return _assignment_response(assignment)


@extend_schema(tags=["routing"])
class AssignmentDisqualifyApi(_RoutingApi):
    @extend_schema_serializer(component_name="DisqualifyInput")
    class InputSerializer(_ReasonInput):
        pass

    @extend_schema(request=InputSerializer, responses=_AssignmentOutput)
    def post(self, request, assignment_id: int):
        assignment = _assignment_action(request, assignment_id, actions.lead_disqualify, self.InputSerializer)
        return _assignment_response(assignment)


@extend_schema(tags=["routing"])
class AssignmentRequestReassignmentApi(_RoutingApi):
    @extend_schema_serializer(component_name="ReassignmentRequestInput")
    class InputSerializer(_ReasonInput):
        pass

    @extend_schema(request=InputSerializer, responses=_AssignmentOutput)
    def post(self, request, assignment_id: int):
        assignment = _assignment_action(
            request, assignment_id, actions.assignment_request_reassignment, self.InputSerializer
        )
        return _assignment_response(assignment)


@extend_schema(tags=["routing"])
class AssignmentReassignApi(_RoutingApi):
    """A manager moves the lead: to `to_rep`, or to the queue's next available rep.

    Answers with the lead's new assignment; when nobody is available it waits in the queue."""

    @extend_schema_serializer(component_name="ReassignInput")
    class InputSerializer(serializers.Serializer):
        to_rep = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="A rep id.")
        reason = serializers.CharField(max_length=500)

    @extend_schema(request=InputSerializer, responses=_AssignmentOutput)
    def post(self, request, assignment_id: int):
        current = _visible_assignment(request, assignment_id)
        data = _input(self.InputSerializer, request)
        with _service_errors():
            new = assignments.assignment_reassign_to_next(
                assignment_id=assignment_id, actor=request.user, reason=data["reason"], to_rep_id=data["to_rep"]
            )
        return _assignment_response(new or active_assignment_for_lead(current.lead_id))


def _lead_or_404(lead_id: int) -> Lead:
    lead = Lead.objects.filter(id=lead_id).first()
    if lead is None:
        raise Http404
    return lead


@extend_schema(tags=["routing"])
class LeadRouteApi(_RoutingApi):
    """Route one lead by hand now (managers and admins). 409 with the current assignment if it has one."""

    permission_classes = [IsAuthenticated, HasQualifyRole, ManagesRouting]

    @extend_schema(request=None, responses={200: _AssignmentOutput, 409: _AssignmentOutput})
    def post(self, request, lead_id: int):
        lead = _lead_or_404(lead_id)
        with _service_errors():
            assignment = assignments.lead_route(lead_id=lead.id, trigger=RoutingTrigger.MANUAL, actor=request.user)
        if assignment is not None:
            return _assignment_response(assignment)
        # lead_route changes nothing for a lead already routed (perhaps just now, by a worker),
        # merged, or past the stages that are routed.
        active = active_assignment_for_lead(lead.id)
        if active is not None:
            return _assignment_response(active, status.HTTP_409_CONFLICT)
        lead.refresh_from_db()
        if lead.merged_into_id is not None:
            raise serializers.ValidationError({"lead": f"The lead was merged into lead {lead.merged_into_id}."})
        stages = ", ".join(stage.label for stage in assignments.ROUTABLE_STAGES)
        raise serializers.ValidationError(
            {"stage": f"A lead in stage {lead.get_stage_display()} is not routed; only {stages} are."}
        )


@extend_schema_serializer(component_name="RuleCheck")
class RuleCheckSerializer(serializers.Serializer):
    rule_id = serializers.IntegerField()
    name = serializers.CharField()
    position = serializers.IntegerField()
    matched = serializers.BooleanField()
    reason = serializers.CharField()
    definition = serializers.CharField()


@extend_schema_serializer(component_name="RepCheck")
class RepCheckSerializer(serializers.Serializer):
    rep_id = serializers.IntegerField()
    rep_name = serializers.CharField(allow_null=True)
    role = serializers.ChoiceField(choices=["account_owner", "account_rep", "queue_member"])
    queue_id = serializers.IntegerField(allow_null=True)
    is_available = serializers.BooleanField()
    code = serializers.CharField()
    reason = serializers.CharField()
    back_at = serializers.DateTimeField(allow_null=True)


@extend_schema(tags=["routing"])
class LeadRoutePreviewApi(_RoutingApi):
    """The decision the live rules would make for this lead now, with the reasons; nothing is applied."""

    permission_classes = [IsAuthenticated, HasQualifyRole, PreviewsRouting]

    @extend_schema_serializer(component_name="RoutePreview")
    class OutputSerializer(serializers.Serializer):
        lead = serializers.IntegerField()
        summary = serializers.CharField()
        method = serializers.CharField(help_text="account_owner, account_rep, rule, fallback or overflow.")
        queue = QueueSummarySerializer(allow_null=True)
        rep = RepSummarySerializer(allow_null=True)
        rule = RuleSummarySerializer(allow_null=True)
        priority = serializers.CharField()
        is_waiting = serializers.BooleanField()
        reason = serializers.CharField()
        rules = RuleCheckSerializer(many=True, help_text="Each rule tried, in order, and why it did or did not match.")
        reps = RepCheckSerializer(many=True, help_text="Each rep considered and why they were skipped or chosen.")
        policy_hash = serializers.CharField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request, lead_id: int):
        lead = _lead_or_404(lead_id)
        with _service_errors():
            preview = assignments.lead_route_preview(lead_id=lead.id)
        return Response(self.OutputSerializer(visibility.route_preview_details(preview, lead_id=lead.id)).data)


@extend_schema(tags=["routing"])
class LeadTimelineApi(_RoutingApi):
    """Activities, stage changes and routing decisions of a lead, newest first."""

    @extend_schema(responses=TimelineEntrySerializer(many=True))
    def get(self, request, lead_id: int):
        lead = visibility.lead_for_timeline(user=request.user, lead_id=lead_id)
        if lead is None:
            raise Http404
        return Response(TimelineEntrySerializer(visibility.lead_timeline(lead=lead), many=True).data)


class _RepApi(_RoutingApi):
    permission_classes = [IsAuthenticated, HasQualifyRole, ManagesRouting]


@extend_schema(tags=["routing"])
class RepCapacitySetApi(_RepApi):
    @extend_schema_serializer(component_name="RepCapacityInput")
    class InputSerializer(serializers.Serializer):
        capacity = serializers.IntegerField(help_text="Maximum open assignments, 0 to 10,000.")

    @extend_schema_serializer(component_name="Rep")
    class OutputSerializer(RepSerializer):
        pass

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, rep_id: int):
        data = _input(self.InputSerializer, request)
        with _service_errors():
            rep = reps.rep_capacity_set(rep_id=rep_id, capacity=data["capacity"], user=request.user)
        return Response(self.OutputSerializer(rep).data)


@extend_schema(tags=["routing"])
class RepOutOfOfficeAddApi(_RepApi):
    @extend_schema_serializer(component_name="OutOfOfficeInput")
    class InputSerializer(serializers.Serializer):
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()
        note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema_serializer(component_name="OutOfOffice")
    class OutputSerializer(OutOfOfficeSerializer):
        pass

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, rep_id: int):
        data = _input(self.InputSerializer, request)
        with _service_errors():
            absence = reps.rep_out_of_office_add(rep_id=rep_id, user=request.user, **data)
        return Response(self.OutputSerializer(absence).data, status=status.HTTP_201_CREATED)


@extend_schema_serializer(component_name="OwnerInput")
class OwnerInputSerializer(serializers.Serializer):
    owner = serializers.IntegerField(allow_null=True, help_text="The user id of a sales rep, or null for nobody.")


@extend_schema_serializer(component_name="Owner")
class OwnerOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    owner = UserSummarySerializer(allow_null=True)


def _visible_or_404(records, record_id: int) -> None:
    if not records.filter(id=record_id).exists():
        raise Http404


class _OwnerSetApi(APIView):
    """Who owns a lead or an account decides who sees and works it: admins give it to any rep,
    a manager what is their team's (or nobody's yet) to their own reps; anyone else gets 403
    (routing.services.ownership, which the admin calls too)."""

    permission_classes = [IsAuthenticated, HasQualifyRole]


@extend_schema(tags=["leads"])
class LeadOwnerSetApi(_OwnerSetApi):
    @extend_schema(request=OwnerInputSerializer, responses=OwnerOutputSerializer)
    def post(self, request, lead_id: int):
        _visible_or_404(lead_selectors.lead_list(user=request.user, include_merged=True), lead_id)
        data = _input(OwnerInputSerializer, request)
        with _service_errors():
            lead = ownership.lead_owner_set(lead_id=lead_id, owner_id=data["owner"], user=request.user)
        return Response(OwnerOutputSerializer(lead).data)


@extend_schema(tags=["accounts"])
class AccountOwnerSetApi(_OwnerSetApi):
    @extend_schema(request=OwnerInputSerializer, responses=OwnerOutputSerializer)
    def post(self, request, account_id: int):
        _visible_or_404(lead_selectors.account_list(user=request.user), account_id)
        data = _input(OwnerInputSerializer, request)
        with _service_errors():
            account = ownership.account_owner_set(account_id=account_id, owner_id=data["owner"], user=request.user)
        return Response(OwnerOutputSerializer(account).data)


class QueueCountsSerializer(serializers.Serializer):
    open = serializers.IntegerField()
    at_risk = serializers.IntegerField()
    breached = serializers.IntegerField()


@extend_schema(tags=["routing"])
class AssignmentQueueApi(_RoutingApi):
    """The rep's queue, in the order of the /queue/ page: breached, at risk, then by first-touch due
    time; inside each tier PQL before MQL, hot before normal, higher score first; then id.
    At most 200 rows (a queue is bounded by the rep's capacity)."""

    class InputSerializer(serializers.Serializer):
        rep = serializers.IntegerField(
            required=False, min_value=1, help_text="Managers and admins: whose queue (a rep id). Reps: their own."
        )
        stage = serializers.ChoiceField(required=False, choices=Stage.choices)
        source = serializers.IntegerField(required=False, min_value=1, help_text="A source id.")
        sla_state = serializers.ChoiceField(required=False, choices=SlaState.choices)

    class OutputSerializer(serializers.Serializer):
        class RowSerializer(serializers.Serializer):
            class LeadSerializer(serializers.Serializer):
                id = serializers.IntegerField()
                name = serializers.CharField(source="__str__")
                title = serializers.CharField()
                account_name = serializers.CharField(source="account.name", allow_null=True, default=None)
                stage = serializers.ChoiceField(choices=Stage.choices)
                source_name = serializers.CharField(source="source.name", allow_null=True, default=None)

            id = serializers.IntegerField()
            status = serializers.CharField()
            lead = LeadSerializer()
            grade = serializers.CharField(source="lead.score.grade", allow_null=True, default=None)
            score = serializers.FloatField(source="lead.score.total", allow_null=True, default=None)
            why = serializers.CharField(source="lead.score.why", allow_null=True, default=None)
            is_pql = serializers.BooleanField()
            is_hot = serializers.BooleanField()
            sla_state = serializers.ChoiceField(choices=SlaState.choices)
            due_at = serializers.DateTimeField(allow_null=True)
            first_touch_at = serializers.DateTimeField(allow_null=True)
            last_touch_at = serializers.DateTimeField(allow_null=True)

        user = UserSummarySerializer(help_text="The rep whose queue this is.")
        counts = QueueCountsSerializer()
        results = RowSerializer(many=True)

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request):
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if "rep" not in params and not user_has_role(request.user, Role.REP):
            raise serializers.ValidationError({"rep": ["Say whose queue: a rep id."]})
        owner = queue_selectors.queue_owner_for(request.user, params.get("rep"))
        if owner is None:
            raise PermissionDenied("You may see only your own queue (managers: their reps').")
        filters = queue_selectors.QueueFilters(
            stage=params.get("stage"), source_id=params.get("source"), sla_state=params.get("sla_state")
        )
        data = {
            "user": owner,
            "counts": queue_selectors.assignment_queue_counts(owner),
            "results": queue_selectors.assignment_queue_for_rep(owner, filters),
        }
        return Response(self.OutputSerializer(data).data)
