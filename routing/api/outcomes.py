"""/api/outcomes/: outcomes in from the CRM (POST, one or a list, as a webhook sends them) and listed (GET).

Who may: recording takes Django's add and change permissions on outcomes (a record sent again
with changed data updates it): admins, marketing ops (leads.services.roles) and a CRM
integration, which is a user an admin gives those two permissions and an API token, with no
role and nothing else. Listing takes the view permission: managers, marketing ops, admins.
Reps have none of them (403): outcomes name any rep's leads.

Partial failure is answered as /v1/batch answers it: a list is recorded item by item and
answers 200 with each item's result, the bad ones `rejected` with their errors by field and
their `index`; a single object that is bad answers 400 naming the field (the one error body).
"""

import django_filters
from django.core.exceptions import NON_FIELD_ERRORS
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from leads.models import UNMATCHED_OUTCOME, Outcome, OutcomeKind
from qualify_site.api.pagination import StrictCursorPagination
from qualify_site.filters import IdFilter, StrictBooleanFilter
from routing.services.outcome_input import EXTERNAL_ID_MAX_LENGTH, MAX_AMOUNT
from routing.services.outcomes import REJECTED, RecordStatus, outcomes_record

MAX_ITEMS = 1000
RECORD_PERMISSIONS = ("leads.add_outcome", "leads.change_outcome")


class OutcomePermission(BasePermission):
    message = "Only admins, marketing ops and CRM integrations given the outcome permissions may do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if request.method in SAFE_METHODS:
            return user.has_perm("leads.view_outcome")
        return user.has_perms(RECORD_PERMISSIONS)


class OutcomeFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=OutcomeKind.choices)
    unmatched = StrictBooleanFilter(method="filter_unmatched", label="Names a lead or account not known yet.")
    lead = IdFilter(field_name="lead_id")
    account = IdFilter(field_name="account_id")

    class Meta:
        model = Outcome
        fields = []

    def filter_unmatched(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(UNMATCHED_OUTCOME) if value else queryset.exclude(UNMATCHED_OUTCOME)


@extend_schema_serializer(component_name="Outcome")
class OutcomeOutput(serializers.ModelSerializer):
    lead = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    account = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    is_unmatched = serializers.BooleanField(read_only=True)

    class Meta:
        model = Outcome
        fields = [
            "id",
            "external_id",
            "kind",
            "occurred_at",
            "opened_at",
            "amount",
            "currency",
            "lead",
            "lead_email",
            "account",
            "account_domain",
            "is_unmatched",
            "created_at",
            "updated_at",
        ]


@extend_schema_serializer(component_name="OutcomeInput")
class OutcomeInput(serializers.Serializer):
    """The schema of one outcome; routing.services.outcome_input checks it (for the CSV import too)."""

    external_id = serializers.CharField(max_length=EXTERNAL_ID_MAX_LENGTH, help_text="The CRM's record id.")
    kind = serializers.ChoiceField(choices=OutcomeKind.choices)
    occurred_at = serializers.DateTimeField(
        help_text="When it happened (ISO 8601; no offset means UTC), never in the future."
    )
    opened_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="A closed deal: when its opportunity was created (the lead passes through opportunity then).",
    )
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        max_value=MAX_AMOUNT,
        required=False,
        allow_null=True,
        coerce_to_string=False,
    )
    currency = serializers.CharField(
        min_length=3, max_length=3, required=False, help_text="ISO 4217; USD when left out."
    )
    lead_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    lead_email = serializers.EmailField(
        required=False, allow_null=True, help_text="An email nobody has yet is kept, and linked when that lead appears."
    )
    account_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    account_domain = serializers.CharField(
        max_length=253,
        required=False,
        allow_null=True,
        help_text="A domain no account has yet is kept, and linked when that account appears.",
    )


class OutcomeItemResult(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in the list sent (0 for a single object).")
    status = serializers.ChoiceField(
        choices=[RecordStatus.CREATED, RecordStatus.UPDATED, RecordStatus.UNCHANGED, REJECTED]
    )
    external_id = serializers.CharField(allow_null=True)
    outcome = OutcomeOutput(allow_null=True)
    field = serializers.CharField(allow_null=True, help_text="Rejected: the first field in error.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        allow_null=True,
        help_text="Rejected: every error, as a list of messages per field.",
    )


@extend_schema_serializer(component_name="OutcomeRecordResult")
class OutcomeRecordResult(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = OutcomeItemResult(many=True)


class NewestFirstPagination(StrictCursorPagination):
    ordering = ("-occurred_at", "-id")


def _errors(errors: dict) -> dict:
    return {("non_field_errors" if name == NON_FIELD_ERRORS else name): messages for name, messages in errors.items()}


def _result_body(results) -> dict:
    counts = dict.fromkeys(("created", "updated", "unchanged", "rejected"), 0)
    items = []
    for result in results:
        counts[result.status] += 1
        errors = _errors(result.errors) if result.errors else None
        items.append(
            {
                "index": result.index,
                "status": result.status,
                "external_id": result.external_id,
                "outcome": OutcomeOutput(result.outcome).data if result.outcome is not None else None,
                "field": next(iter(errors)) if errors else None,
                "errors": errors,
            }
        )
    return {**counts, "results": items}


@extend_schema(tags=["outcomes"])
class OutcomeListApi(generics.ListAPIView):
    """Outcomes, latest first; filter by kind, lead, account, or those still unmatched."""

    permission_classes = [IsAuthenticated, OutcomePermission]
    serializer_class = OutcomeOutput
    filterset_class = OutcomeFilter
    pagination_class = NewestFirstPagination
    queryset = Outcome.objects.all()

    @extend_schema(
        summary="Record outcomes from the CRM",
        description=(
            "One outcome, or a list of at most 1000, idempotent on `external_id`: a record sent again with the "
            "same data is `unchanged`, with changed data `updated`. Each names a lead (`lead_id` or `lead_email`) "
            "and/or an account (`account_id` or `account_domain`); an email or domain nobody has yet is kept "
            "(`is_unmatched`) and linked when it appears. Recording moves the leads' stages forward (meeting: SQL, "
            "opportunity, closed won or lost). A single object answers 201 when created, 200 otherwise, and 400 "
            "naming the field when bad; a list answers 200 with each item's result, bad items `rejected` with "
            "their `index` and errors by field, the others recorded."
        ),
        request=PolymorphicProxySerializer(
            component_name="OutcomeRecordRequest",
            serializers=[OutcomeInput, OutcomeInput(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={200: OutcomeRecordResult, 201: OutcomeRecordResult},
    )
    def post(self, request):
        data = request.data
        if isinstance(data, list):
            if len(data) > MAX_ITEMS:
                raise serializers.ValidationError({"non_field_errors": [f"Send at most {MAX_ITEMS} outcomes at once."]})
            return Response(_result_body(outcomes_record(items=data)))
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Send an outcome (an object) or a list of them."]})
        (result,) = outcomes_record(items=[data])
        if result.status == REJECTED:
            raise serializers.ValidationError(_errors(result.errors))
        is_created = result.status == RecordStatus.CREATED
        return Response(_result_body([result]), status=status.HTTP_201_CREATED if is_created else status.HTTP_200_OK)
