"""GET /api/insights/precedes/: which behaviours and traits are over-represented among buyers.

Managers, marketing ops and admins; reps get 403. Every trait measured is listed, those that do
not predict included, each with its counts, shares (Wilson) and lift (Katz interval). Computed by
a task and stored, as the calibration is (insights/api/calibration.py: 202 while computing).
"""

from datetime import date

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from insights.api.calibration import (
    REPORT_HEADERS,
    WilsonRateSerializer,
    report_response,
    report_responses,
)
from insights.api.permissions import ReadsInsights
from insights.engine.precedes import VERDICTS
from insights.models import ReportKind
from insights.selectors import precedes as selectors
from insights.selectors.calibration import report_date_problem
from insights.services import reports
from leads.api.permissions import HasQualifyRole


class PrecedingTraitSerializer(serializers.Serializer):
    group = serializers.ChoiceField(choices=["event", "property", "fit"])
    name = serializers.CharField()
    winners_with = serializers.IntegerField()
    winners_without = serializers.IntegerField()
    others_with = serializers.IntegerField()
    others_without = serializers.IntegerField()
    share_of_winners = WilsonRateSerializer()
    share_of_others = WilsonRateSerializer()
    lift = serializers.FloatField(allow_null=True, help_text="Share of buyers with it over share of the others.")
    lift_low = serializers.FloatField(allow_null=True, help_text="95% interval (Katz); null when too few.")
    lift_high = serializers.FloatField(allow_null=True)
    verdict = serializers.ChoiceField(choices=list(VERDICTS))
    verdict_words = serializers.CharField()


class PrecedesApi(APIView):
    """What preceded buying: for each event name, notable property value (path, asset_type, ...)
    and fit attribute, how over-represented it is among the accounts (or leads) that won before
    the cut-off, in the window before their win, against the others in the window before the
    cut-off; sorted by lift, highest first, with traits that do not predict shown as such."""

    permission_classes = [IsAuthenticated, HasQualifyRole, ReadsInsights]

    class InputSerializer(serializers.Serializer):
        before = serializers.DateField(
            required=False, help_text="The cut-off: wins before the start of this day (UTC); default: today."
        )
        window = serializers.IntegerField(
            default=selectors.DEFAULT_WINDOW_DAYS,
            min_value=1,
            max_value=selectors.MAX_WINDOW_DAYS,
            help_text="Days before the win (or the cut-off) in which behaviour counts.",
        )
        unit = serializers.ChoiceField(choices=selectors.UNITS, default="account")
        positive = serializers.ChoiceField(
            choices=list(selectors.POSITIVE_KINDS),
            default="won",
            help_text="won: a closed-won outcome; opportunity: an opportunity or a closed deal.",
        )

        def validate_before(self, value: date) -> date:
            problem = report_date_problem(value, today=timezone.localdate())
            if problem:
                raise serializers.ValidationError(problem)
            return value

    @extend_schema_serializer(component_name="Precedes")
    class OutputSerializer(serializers.Serializer):
        before = serializers.DateTimeField()
        window_days = serializers.IntegerField()
        unit = serializers.CharField()
        positive = serializers.CharField()
        winners = serializers.IntegerField()
        others = serializers.IntegerField()
        min_with = serializers.IntegerField(help_text="Fewer entities with a trait than this: too few to tell.")
        verdicts = serializers.DictField(
            child=serializers.IntegerField(), help_text="How many traits got each verdict."
        )
        behaviours = PrecedingTraitSerializer(many=True)
        fit = PrecedingTraitSerializer(many=True)

    @extend_schema(
        tags=["insights"], parameters=[InputSerializer, *REPORT_HEADERS], responses=report_responses(OutputSerializer)
    )
    def get(self, request):
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        report = reports.report_request(
            kind=ReportKind.PRECEDES,
            params=reports.precedes_params(
                before=params.get("before") or timezone.localdate(),
                window=params["window"],
                unit=params["unit"],
                positive=params["positive"],
            ),
            user=request.user,
        )
        return report_response(request, report, self.OutputSerializer)
