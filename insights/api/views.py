"""REST API for insights: one view per operation, thin; the figures come from the selectors."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from insights.api.permissions import ReadsInsights
from insights.selectors.conversion import (
    Dimension,
    Funnel,
    Period,
    conversion_get,
    conversion_query_build,
)
from leads.models import Stage


class ConversionRateSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Leads that got here.")
    total = serializers.IntegerField(help_text="Leads that could have: the denominator.")
    rate = serializers.SerializerMethodField(help_text="count / total; null when total is 0.")
    low = serializers.SerializerMethodField(help_text="Lower end of the 95% Wilson interval.")
    high = serializers.SerializerMethodField(help_text="Upper end of the 95% Wilson interval.")

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_rate(self, rate):
        return round(rate.rate, 4) if rate.total else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_low(self, rate):
        return round(rate.low, 4) if rate.total else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_high(self, rate):
        return round(rate.high, 4) if rate.total else None


class ConversionStepSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    label = serializers.CharField()
    from_previous = ConversionRateSerializer(
        help_text="Of the leads at the previous step (the funnel's entry for the first)."
    )
    from_entry = ConversionRateSerializer(help_text="Of the leads that entered the funnel.")
    median_days = serializers.FloatField(
        allow_null=True, help_text="Median calendar days from the previous step; null when nobody got here."
    )


class ConversionRowSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="The group's id or code; null for leads without one.")
    label = serializers.CharField()
    entered = serializers.IntegerField(help_text="Leads that first entered the funnel (the MQL or PQL volume).")
    steps = ConversionStepSerializer(many=True)


class ConversionGetApi(APIView):
    """Stage-to-stage conversion of the leads that first became MQL (or PQL) in the range:
    accepted, SQL, opportunity and won, each with its count, rate (95% Wilson interval) and the
    median days from the previous step, per group of one dimension, with the total and every
    cohort of the range. A lead that reached a later step counts as having passed the earlier
    ones (won with no SQL row is an SQL too). Managers, marketing ops and admins; org-wide."""

    permission_classes = [IsAuthenticated, ReadsInsights]

    class InputSerializer(serializers.Serializer):
        funnel = serializers.ChoiceField(choices=Funnel.choices, required=False, help_text="Default mql.")
        by = serializers.ChoiceField(choices=Dimension.choices, required=False, help_text="Default source.")
        period = serializers.ChoiceField(
            choices=Period.choices, required=False, help_text="Cohorts by month (default) or quarter."
        )
        start = serializers.DateField(
            required=False, help_text="First day (inclusive); default: 12 months or 4 quarters back."
        )
        end = serializers.DateField(required=False, help_text="Last day (inclusive); default today.")

    class ConversionOutputSerializer(serializers.Serializer):
        funnel = serializers.ChoiceField(choices=Funnel.choices, source="query.funnel")
        by = serializers.ChoiceField(choices=Dimension.choices, source="query.by")
        period = serializers.ChoiceField(choices=Period.choices, source="query.period")
        start = serializers.DateField(source="query.start")
        end = serializers.DateField(source="query.end")
        rows = ConversionRowSerializer(many=True, help_text="One funnel per group, biggest first (cohorts in order).")
        total = ConversionRowSerializer()
        cohorts = ConversionRowSerializer(many=True, help_text="The total per cohort, every cohort of the range.")

    @extend_schema(
        tags=["insights"],
        parameters=[InputSerializer],
        responses={200: ConversionOutputSerializer},
        operation_id="insights_conversion_get",
    )
    def get(self, request):
        given = self.InputSerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        try:
            query = conversion_query_build(**_query_fields(given.validated_data), today=timezone.localdate())
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return Response(self.ConversionOutputSerializer(conversion_get(query)).data)


def _query_fields(data: dict) -> dict:
    return {name: data.get(name) for name in ("funnel", "by", "period", "start", "end")}
