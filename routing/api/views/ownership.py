"""Who owns a lead or an account, set through the API (routing.services.ownership)."""

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from leads import selectors as lead_selectors
from leads.api.permissions import HasQualifyRole
from leads.api.serializers import UserSummarySerializer
from routing.api.views.base import service_errors, validated_input
from routing.services import ownership


@extend_schema_serializer(component_name="OwnerInput")
class OwnerInputSerializer(serializers.Serializer):
    owner = serializers.IntegerField(allow_null=True, help_text="The user id of a sales rep, or null for nobody.")


@extend_schema_serializer(component_name="Owner")
class OwnerOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    owner = UserSummarySerializer(allow_null=True)


def _visible_or_404(records, record_id: int) -> None:
    if not records.filter(id=record_id).exists():
        raise Http404


class _OwnerSetApi(APIView):
    """Who owns a lead or an account decides who sees and works it: admins give it to any rep,
    a manager what is their team's (or nobody's yet) to their own reps; anyone else gets 403
    (routing.services.ownership, which the admin calls too)."""

    permission_classes = [IsAuthenticated, HasQualifyRole]


@extend_schema(tags=["leads"])
class LeadOwnerSetApi(_OwnerSetApi):
    @extend_schema(request=OwnerInputSerializer, responses=OwnerOutputSerializer)
    def post(self, request, lead_id: int):
        _visible_or_404(lead_selectors.lead_list(user=request.user, include_merged=True), lead_id)
        data = validated_input(OwnerInputSerializer, request)
        with service_errors():
            lead = ownership.lead_owner_set(lead_id=lead_id, owner_id=data["owner"], user=request.user)
        return Response(OwnerOutputSerializer(lead).data)


@extend_schema(tags=["accounts"])
class AccountOwnerSetApi(_OwnerSetApi):
    @extend_schema(request=OwnerInputSerializer, responses=OwnerOutputSerializer)
    def post(self, request, account_id: int):
        _visible_or_404(lead_selectors.account_list(user=request.user), account_id)
        data = validated_input(OwnerInputSerializer, request)
        with service_errors():
            account = ownership.account_owner_set(account_id=account_id, owner_id=data["owner"], user=request.user)
        return Response(OwnerOutputSerializer(account).data)
