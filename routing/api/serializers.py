"""Output serializers shared by several routing views (per-view Input ones are nested in the views)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.api.serializers import UserSummarySerializer
from leads.models import Lead
from routing.models import Activity, Assignment, AssignmentStatus, OutOfOffice, Queue, Rep, RoutingRule


class RepSummarySerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)
    user = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Rep
        fields = ["id", "name", "user"]


class QueueSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Queue
        fields = ["id", "name", "strategy", "is_fallback"]


class RuleSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = RoutingRule
        fields = ["id", "name", "position"]


class AssignmentLeadSerializer(serializers.ModelSerializer):
    account_name = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = ["id", "email", "first_name", "last_name", "title", "stage", "account_name"]

    def get_account_name(self, lead) -> str | None:
        return lead.account.name if lead.account_id else None


class AssignmentSerializer(serializers.ModelSerializer):
    lead = AssignmentLeadSerializer()
    rep = RepSummarySerializer(allow_null=True)
    queue = QueueSummarySerializer()
    rule = RuleSummarySerializer(allow_null=True)
    is_at_risk = serializers.SerializerMethodField()
    is_breached = serializers.SerializerMethodField()
    is_waiting = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = [
            "id",
            "lead",
            "rep",
            "queue",
            "rule",
            "priority",
            "status",
            "assigned_at",
            "warn_at",
            "due_at",
            "first_touch_at",
            "accepted_at",
            "at_risk_at",
            "breached_at",
            "closed_at",
            "close_reason",
            "reassignment_requested_at",
            "reassignment_reason",
            "is_at_risk",
            "is_breached",
            "is_waiting",
        ]

    def get_is_at_risk(self, assignment) -> bool:
        return assignment.at_risk_at is not None

    def get_is_breached(self, assignment) -> bool:
        return assignment.breached_at is not None

    def get_is_waiting(self, assignment) -> bool:
        return assignment.status == AssignmentStatus.WAITING


class ActivitySerializer(serializers.ModelSerializer):
    actor = UserSummarySerializer(allow_null=True)

    class Meta:
        model = Activity
        fields = ["id", "lead", "assignment", "kind", "actor", "at", "notes", "detail"]


class OutOfOfficeSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutOfOffice
        fields = ["id", "rep", "starts_at", "ends_at", "note", "created_by"]


class RepSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = Rep
        fields = ["id", "name", "user", "team", "capacity", "weight", "time_zone", "is_active"]


@extend_schema_field({"type": "object", "additionalProperties": True})
class JsonObjectField(serializers.JSONField):
    pass


class TimelineEntrySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["activity", "stage_change", "routing_decision"])
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    kind = serializers.CharField(help_text="Activity kind, stage moved to, or routing trigger.")
    actor = UserSummarySerializer(allow_null=True)
    summary = serializers.CharField()
    assignment = serializers.IntegerField(allow_null=True)
    detail = JsonObjectField()
