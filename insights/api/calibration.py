"""GET /api/insights/calibration/: how well a rule version's scores predicted what converted.

Managers, marketing ops and admins; reps get 403 (thresholds are marketing ops' and managers'
business, and the report reads every lead). Computed by a task and stored
(insights/services/reports.py): two snapshots of the version (as of the date, and one horizon
earlier for the probability curve) take about a minute at 100k leads. The first request for a set
of parameters answers 202 with the report's status and a Location to ask again (the same URL);
once computed, 200 with the figures; 409 when the computation failed, with its error.
"""

from datetime import date

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from insights.api.permissions import ReadsInsights
from insights.models import BacktestStatus, InsightReport, ReportKind
from insights.selectors import calibration as selectors
from insights.selectors.snapshot import UNITS
from insights.services import reports
from leads.api.permissions import HasQualifyRole
from scoring.models import RuleVersion
from scoring.selectors import rule_version_live

POLL_SECONDS = 2


@extend_schema_serializer(component_name="InsightReportStatus")
class ReportStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=BacktestStatus.choices)
    report_id = serializers.IntegerField(source="id")
    requested_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(help_text="Why the computation failed (409); empty otherwise.")


def report_responses(output) -> dict:
    """The responses of a stored report's GET: the figures, still computing, or failed."""
    return {
        200: output,
        202: OpenApiResponse(
            ReportStatusSerializer,
            description="Being computed (queued or running): ask the same URL again (Location) after "
            "Retry-After seconds.",
        ),
        409: OpenApiResponse(
            ReportStatusSerializer,
            description="The computation failed (`error` says why); a marketing ops user or an admin can "
            "recompute it from the page.",
        ),
    }


REPORT_HEADERS = [
    OpenApiParameter(
        "Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[202], description="Where to ask again."
    ),
    OpenApiParameter(
        "Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[202], description="Seconds to wait."
    ),
]


def report_response(request, report: InsightReport, output) -> Response:
    """200 with the stored figures, 202 while they are computed, 409 when the computation failed."""
    if report.status == BacktestStatus.DONE:
        return Response(output(report.results).data)
    body = ReportStatusSerializer(report).data
    if report.status == BacktestStatus.FAILED:
        return Response(body, status=409)
    headers = {"Location": request.build_absolute_uri(), "Retry-After": str(POLL_SECONDS)}
    return Response(body, status=202, headers=headers)


class WilsonRateSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    total = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True, help_text="95% Wilson interval.")
    high = serializers.FloatField(allow_null=True)


class SelectionMeasureSerializer(serializers.Serializer):
    selected = serializers.IntegerField()
    precision = WilsonRateSerializer()
    recall = WilsonRateSerializer()
    base_rate = WilsonRateSerializer()
    lift = serializers.FloatField(allow_null=True)


class ScoreHistogramBinSerializer(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()
    converted = serializers.IntegerField()
    not_converted = serializers.IntegerField()


class ScoreBandSerializer(serializers.Serializer):
    band = serializers.IntegerField(help_text="1 is the best-scored tenth.")
    low_score = serializers.FloatField()
    high_score = serializers.FloatField()
    converted = WilsonRateSerializer()
    lift = serializers.FloatField(allow_null=True)


class ThresholdMeasureSerializer(serializers.Serializer):
    class ThresholdAgainstSerializer(serializers.Serializer):
        won = SelectionMeasureSerializer()
        opportunity = SelectionMeasureSerializer()

    kind = serializers.ChoiceField(choices=["mql", "pql", "qualified"])
    name = serializers.CharField()
    against = ThresholdAgainstSerializer()


class ReliabilityBinSerializer(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()
    mean_predicted = serializers.FloatField()
    observed = WilsonRateSerializer()


class ProbabilityReadingSerializer(serializers.Serializer):
    reading = serializers.CharField(allow_null=True, help_text="'platt', or null when scores cannot be read so.")
    words = serializers.CharField(required=False)
    reason = serializers.CharField(required=False, help_text="Why there is no reading.")
    fitted_on = serializers.DictField(required=False, child=serializers.JSONField())
    curve = serializers.DictField(required=False, child=serializers.FloatField())
    brier = serializers.FloatField(required=False, allow_null=True)
    brier_reference = serializers.FloatField(
        required=False, allow_null=True, help_text="The Brier score of giving everyone the earlier base rate."
    )
    reliability = ReliabilityBinSerializer(many=True, required=False)


class ThresholdSuggestionSerializer(serializers.Serializer):
    objective = serializers.CharField()
    threshold = serializers.FloatField()
    value = serializers.FloatField()
    selection = SelectionMeasureSerializer()
    in_sample = serializers.BooleanField()
    words = serializers.CharField()


class TeamCapacitySerializer(serializers.Serializer):
    capacity = serializers.IntegerField()
    unit = serializers.CharField()
    period_days = serializers.IntegerField()
    reps = serializers.IntegerField()
    slots = serializers.IntegerField()
    turnover_days = serializers.FloatField()
    measured_assignments = serializers.IntegerField()
    leads_per_account = serializers.FloatField()
    words = serializers.CharField()


class CalibrationApi(APIView):
    """Calibration of a rule version as of a date: score distribution of the converted and the
    rest, conversion by score decile with lift, precision and recall of the MQL threshold and of
    each PQL path (against won and against opportunity), precision/recall/lift at capacity, the
    reliability bins and Brier score of the scores read as probabilities (a logistic curve
    fitted on the snapshot one horizon earlier), and a suggested threshold (never applied).
    Every rate comes with its count and a 95% Wilson interval."""

    permission_classes = [IsAuthenticated, HasQualifyRole, ReadsInsights]

    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(
            required=False, min_value=1, help_text="A rule version id (default: the live version)."
        )
        unit = serializers.ChoiceField(choices=UNITS, default="lead")
        as_of = serializers.DateField(
            required=False,
            help_text="Score as of the start of this day (UTC); default: `horizon` days before today, so the "
            "horizon has passed.",
        )
        horizon = serializers.IntegerField(
            default=selectors.DEFAULT_HORIZON_DAYS,
            min_value=1,
            max_value=selectors.MAX_HORIZON_DAYS,
            help_text="Days after as_of in which an outcome counts.",
        )
        capacity = serializers.IntegerField(
            required=False,
            min_value=0,
            max_value=selectors.MAX_CAPACITY,
            help_text="Leads (or accounts) the team can work in the horizon; default: from the reps' capacities.",
        )
        objective = serializers.ChoiceField(
            choices=selectors.OBJECTIVES, default="f1", help_text="What the suggested threshold maximises."
        )
        positive = serializers.ChoiceField(
            choices=list(selectors.POSITIVE_KINDS),
            default="won",
            help_text="won: a closed-won outcome; opportunity: an opportunity or a closed deal.",
        )

        def validate_version(self, value):
            version = RuleVersion.objects.filter(id=value).first()
            if version is None:
                raise serializers.ValidationError("No rule version has this id.")
            return version

        def validate_as_of(self, value: date) -> date:
            problem = selectors.report_date_problem(value, today=timezone.localdate())
            if problem:
                raise serializers.ValidationError(problem)
            return value

        def validate(self, data):
            if "version" not in data:
                data["version"] = rule_version_live()
                if data["version"] is None:
                    raise serializers.ValidationError({"version": ["No version is live: give a version id."]})
            return data

    @extend_schema_serializer(component_name="Calibration")
    class OutputSerializer(serializers.Serializer):
        version_id = serializers.IntegerField()
        unit = serializers.CharField()
        as_of = serializers.DateTimeField()
        horizon_days = serializers.IntegerField()
        positive = serializers.CharField()
        positive_kinds = serializers.ListField(child=serializers.CharField())
        objective = serializers.CharField()
        candidates = serializers.IntegerField()
        positives = serializers.IntegerField()
        outcomes_after = serializers.IntegerField()
        labels_complete = serializers.BooleanField()
        is_measurable = serializers.BooleanField(help_text="False when no outcome follows as_of yet.")
        base_rate = WilsonRateSerializer()
        distribution = ScoreHistogramBinSerializer(many=True)
        bands = ScoreBandSerializer(many=True)
        thresholds = ThresholdMeasureSerializer(many=True)
        capacity = serializers.IntegerField()
        capacity_source = serializers.ChoiceField(choices=["given", "team"])
        team_capacity = TeamCapacitySerializer()
        at_capacity = SelectionMeasureSerializer()
        probabilities = ProbabilityReadingSerializer()
        suggestion = ThresholdSuggestionSerializer(allow_null=True)

    @extend_schema(
        tags=["insights"], parameters=[InputSerializer, *REPORT_HEADERS], responses=report_responses(OutputSerializer)
    )
    def get(self, request):
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        horizon = params["horizon"]
        report = reports.report_request(
            kind=ReportKind.CALIBRATION,
            params=reports.calibration_params(
                version=params["version"],
                as_of=params.get("as_of") or selectors.default_as_of(timezone.localdate(), horizon),
                horizon=horizon,
                unit=params["unit"],
                capacity=params.get("capacity"),
                objective=params["objective"],
                positive=params["positive"],
            ),
            user=request.user,
        )
        return report_response(request, report, self.OutputSerializer)
