"""Read-only API for leads, accounts and events: one view per operation.

Views stay thin: the queryset comes from a selector (which enforces who sees
what), filters from a FilterSet, ordering from the cursor paginator. A record
the user may not see answers 404, never 403, so its existence does not leak.
"""

import math

from django.db.models import FloatField, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated

from leads import selectors
from leads.api.filters import AccountFilter, EventFilter, LeadFilter
from leads.api.permissions import HasQualifyRole
from leads.api.serializers import (
    AccountDetailSummarySerializer,
    AccountSummarySerializer,
    CampaignSummarySerializer,
    IdentitySerializer,
    SourceSummarySerializer,
    StageChangeSerializer,
    UserSummarySerializer,
)
from leads.models import Account, Event, Lead
from qualify_site.api.pagination import StrictCursorPagination


class NewestFirstPagination(StrictCursorPagination):
    ordering = ("-created_at", "-id")


class EventPagination(NewestFirstPagination):
    ordering = ("-timestamp", "-id")


# Accounts by score. leads imports nothing from scoring: the score is reached through the
# relation scoring's AccountScore declares on Account (related_name "score"). An account not
# scored yet sorts below every score.
UNSCORED = -1e9
ACCOUNT_ORDERINGS = {"-score": ("-score_sort", "-id"), "score": ("score_sort", "id")}


class AccountPagination(NewestFirstPagination):
    """Newest first, or by score with `ordering=-score` (highest first) or `ordering=score`."""

    ordering_param = "ordering"

    def paginate_queryset(self, queryset, request, view=None):
        if request.query_params.get(self.ordering_param, "").strip():
            queryset = queryset.annotate(
                score_sort=Coalesce("score__total", Value(UNSCORED), output_field=FloatField())
            )
        return super().paginate_queryset(queryset, request, view)

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param, "").strip()
        if not raw:
            return self.ordering
        if raw not in ACCOUNT_ORDERINGS:
            choices = " or ".join(ACCOUNT_ORDERINGS)
            raise ValidationError({self.ordering_param: [f"Use {choices}, or leave it out for newest first."]})
        return ACCOUNT_ORDERINGS[raw]

    def decode_cursor(self, request):
        if self.ordering[0].lstrip("-") != "score_sort":
            return super().decode_cursor(request)
        # The position is a score, not a date-time.
        invalid = ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})
        try:
            cursor = CursorPagination.decode_cursor(self, request)
            position = None if cursor is None or cursor.position is None else float(cursor.position)
        except (NotFound, ValueError):
            raise invalid from None
        if position is None:
            return cursor
        if not math.isfinite(position):
            raise invalid
        return cursor._replace(position=position)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        ordering = {
            "name": self.ordering_param,
            "required": False,
            "in": "query",
            "description": "-score: highest account score first; score: lowest first (unscored last or first). "
            "Default: newest first.",
            "schema": {"type": "string", "enum": list(ACCOUNT_ORDERINGS)},
        }
        return [*super().get_schema_operation_parameters(view), ordering]


class _QualifyApi:
    permission_classes = [IsAuthenticated, HasQualifyRole]


class _QualifyDetailApi(_QualifyApi, generics.RetrieveAPIView):
    """A detail view whose object comes from a selector that answers None when the record
    is missing or not visible to the user: both are a 404."""

    def object_get(self):
        raise NotImplementedError

    def get_object(self):
        obj = self.object_get()
        if obj is None:
            raise Http404
        return obj


class _LeadFields(serializers.ModelSerializer):
    account = AccountSummarySerializer(allow_null=True)
    owner = UserSummarySerializer(allow_null=True)
    source = SourceSummarySerializer(allow_null=True)
    campaign = CampaignSummarySerializer(allow_null=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "title",
            "department",
            "seniority",
            "country",
            "region",
            "stage",
            "stage_changed_at",
            "is_unsubscribed",
            "account",
            "owner",
            "source",
            "campaign",
            "created_at",
            "updated_at",
        ]


@extend_schema(tags=["leads"])
class LeadListApi(_QualifyApi, generics.ListAPIView):
    @extend_schema_serializer(component_name="LeadListItem")
    class OutputSerializer(_LeadFields):
        pass

    serializer_class = OutputSerializer
    filterset_class = LeadFilter
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        return selectors.lead_list(user=self.request.user)


@extend_schema(tags=["leads"])
class LeadDetailApi(_QualifyDetailApi):
    @extend_schema_serializer(component_name="LeadDetail")
    class OutputSerializer(_LeadFields):
        account = AccountDetailSummarySerializer(allow_null=True)
        identities = IdentitySerializer(many=True)
        recent_stage_changes = StageChangeSerializer(many=True)
        merged_into = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

        class Meta(_LeadFields.Meta):
            fields = [
                *_LeadFields.Meta.fields,
                "phone",
                "crm_id",
                "traits",
                "first_seen_at",
                "last_seen_at",
                "merged_into",
                "identities",
                "recent_stage_changes",
            ]

    serializer_class = OutputSerializer
    queryset = Lead.objects.none()  # for the schema; the object comes from the selector

    def object_get(self):
        return selectors.lead_get(user=self.request.user, lead_id=self.kwargs["lead_id"])


@extend_schema_serializer(component_name="AccountScoreSummary")
class _AccountScoreFields(serializers.Serializer):
    """The account's score (scoring's AccountScore, read through the relation), null until scored."""

    total = serializers.FloatField()
    fit = serializers.FloatField()
    engagement = serializers.FloatField()
    grade = serializers.CharField()
    stage = serializers.CharField()
    is_pql = serializers.BooleanField()
    pql_path = serializers.CharField()
    why = serializers.CharField()
    computed_at = serializers.DateTimeField()


class _AccountFields(serializers.ModelSerializer):
    owner = UserSummarySerializer(allow_null=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "domain",
            "group_id",
            "industry",
            "employee_count",
            "segment",
            "country",
            "region",
            "plan",
            "seats",
            "owner",
            "created_at",
            "updated_at",
        ]


@extend_schema(tags=["accounts"])
class AccountListApi(_QualifyApi, generics.ListAPIView):
    @extend_schema_serializer(component_name="AccountListItem")
    class OutputSerializer(_AccountFields):
        score = _AccountScoreFields(read_only=True, allow_null=True)

        class Meta(_AccountFields.Meta):
            fields = [*_AccountFields.Meta.fields, "score"]

    serializer_class = OutputSerializer
    filterset_class = AccountFilter
    pagination_class = AccountPagination

    def get_queryset(self):
        return selectors.account_list(user=self.request.user).select_related("score")


@extend_schema(tags=["accounts"])
class AccountDetailApi(_QualifyDetailApi):
    @extend_schema_serializer(component_name="AccountDetail")
    class OutputSerializer(_AccountFields):
        class Meta(_AccountFields.Meta):
            fields = [*_AccountFields.Meta.fields, "traits"]

    serializer_class = OutputSerializer
    queryset = Account.objects.none()

    def object_get(self):
        return selectors.account_get(user=self.request.user, account_id=self.kwargs["account_id"])


class _EventFields(serializers.ModelSerializer):
    source = SourceSummarySerializer()
    lead = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    account = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Event
        fields = [
            "id",
            "source",
            "message_id",
            "type",
            "event",
            "name",
            "user_id",
            "anonymous_id",
            "group_id",
            "previous_id",
            "properties",
            "traits",
            "context",
            "original_timestamp",
            "sent_at",
            "received_at",
            "timestamp",
            "lead",
            "account",
            "processed_at",
        ]


@extend_schema(tags=["events"])
class EventListApi(_QualifyApi, generics.ListAPIView):
    @extend_schema_serializer(component_name="EventListItem")
    class OutputSerializer(_EventFields):
        pass

    serializer_class = OutputSerializer
    filterset_class = EventFilter
    pagination_class = EventPagination

    def get_queryset(self):
        return selectors.event_list(user=self.request.user)


@extend_schema(tags=["events"])
class EventDetailApi(_QualifyDetailApi):
    @extend_schema_serializer(component_name="EventDetail")
    class OutputSerializer(_EventFields):
        class Meta(_EventFields.Meta):
            fields = [*_EventFields.Meta.fields, "extra"]

    serializer_class = OutputSerializer
    queryset = Event.objects.none()

    def object_get(self):
        return selectors.event_get(user=self.request.user, event_id=self.kwargs["event_id"])
