"""Read-only API for leads, accounts and events: one view per operation.

Views stay thin: the queryset comes from a selector (which enforces who sees
what), filters from a FilterSet, ordering from the cursor paginator. A record
the user may not see answers 404, never 403, so its existence does not leak.
"""

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import generics, serializers
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
        pass

    serializer_class = OutputSerializer
    filterset_class = AccountFilter
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        return selectors.account_list(user=self.request.user)


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
