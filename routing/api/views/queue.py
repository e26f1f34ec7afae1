"""The rep's queue through the API, in the order of the /queue/ page."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from leads.api.serializers import UserSummarySerializer
from leads.models import Stage
from qualify_site.roles import Role, user_has_role
from routing.api.views.base import RoutingApi
from routing.selectors import queue as queue_selectors
from routing.selectors.queue import SlaState


class QueueCountsSerializer(serializers.Serializer):
    open = serializers.IntegerField()
    at_risk = serializers.IntegerField()
    breached = serializers.IntegerField()


@extend_schema(tags=["routing"])
class AssignmentQueueApi(RoutingApi):
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
