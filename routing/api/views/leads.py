"""The lead API of routing: route a lead now, preview the decision, read its timeline."""

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from leads.api.permissions import HasQualifyRole
from leads.models import Lead
from routing.api.serializers import (
    QueueSummarySerializer,
    RepSummarySerializer,
    RuleSummarySerializer,
    TimelineEntrySerializer,
)
from routing.api.views.assignments import AssignmentOutput, assignment_response
from routing.api.views.base import ManagesRouting, PreviewsRouting, RoutingApi, service_errors
from routing.models import RoutingTrigger
from routing.selectors import visibility
from routing.selectors.policy import active_assignment_for_lead
from routing.services import assignments


def _lead_or_404(lead_id: int) -> Lead:
    lead = Lead.objects.filter(id=lead_id).first()
    if lead is None:
        raise Http404
    return lead


@extend_schema(tags=["routing"])
class LeadRouteApi(RoutingApi):
    """Route one lead by hand now (managers and admins). 409 with the current assignment if it has one."""

    permission_classes = [IsAuthenticated, HasQualifyRole, ManagesRouting]

    @extend_schema(request=None, responses={200: AssignmentOutput, 409: AssignmentOutput})
    def post(self, request, lead_id: int):
        lead = _lead_or_404(lead_id)
        with service_errors():
            assignment = assignments.lead_route(lead_id=lead.id, trigger=RoutingTrigger.MANUAL, actor=request.user)
        if assignment is not None:
            return assignment_response(assignment)
        # lead_route changes nothing for a lead already routed (perhaps just now, by a worker),
        # merged, or past the stages that are routed.
        active = active_assignment_for_lead(lead.id)
        if active is not None:
            return assignment_response(active, status.HTTP_409_CONFLICT)
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
class LeadRoutePreviewApi(RoutingApi):
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
        with service_errors():
            preview = assignments.lead_route_preview(lead_id=lead.id)
        return Response(self.OutputSerializer(visibility.route_preview_details(preview, lead_id=lead.id)).data)


@extend_schema(tags=["routing"])
class LeadTimelineApi(RoutingApi):
    """Activities, stage changes and routing decisions of a lead, newest first."""

    @extend_schema(responses=TimelineEntrySerializer(many=True))
    def get(self, request, lead_id: int):
        lead = visibility.lead_for_timeline(user=request.user, lead_id=lead_id)
        if lead is None:
            raise Http404
        return Response(TimelineEntrySerializer(visibility.lead_timeline(lead=lead), many=True).data)
