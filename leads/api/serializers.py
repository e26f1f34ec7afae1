"""Small output serializers shared by several views (the per-view ones are nested in the views)."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from leads.models import Account, Campaign, Identity, Source, StageChange


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username", "first_name", "last_name"]


class SourceSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["id", "name", "kind"]


class CampaignSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "name", "type"]


class AccountSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "name", "domain", "segment"]


class AccountDetailSummarySerializer(serializers.ModelSerializer):
    owner = UserSummarySerializer(allow_null=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "domain",
            "industry",
            "employee_count",
            "segment",
            "country",
            "region",
            "plan",
            "seats",
            "owner",
        ]


class IdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Identity
        fields = ["kind", "value", "created_at"]


class StageChangeSerializer(serializers.ModelSerializer):
    actor = UserSummarySerializer(allow_null=True)

    class Meta:
        model = StageChange
        fields = ["from_stage", "to_stage", "changed_at", "actor", "actor_label", "reason", "evidence"]
