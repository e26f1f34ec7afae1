"""The rep API: a manager sets a rep's capacity and adds an absence."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from leads.api.permissions import HasQualifyRole
from routing.api.serializers import OutOfOfficeSerializer, RepSerializer
from routing.api.views.base import ManagesRouting, RoutingApi, service_errors, validated_input
from routing.services import reps


class _RepApi(RoutingApi):
    permission_classes = [IsAuthenticated, HasQualifyRole, ManagesRouting]


@extend_schema(tags=["routing"])
class RepCapacitySetApi(_RepApi):
    @extend_schema_serializer(component_name="RepCapacityInput")
    class InputSerializer(serializers.Serializer):
        capacity = serializers.IntegerField(help_text="Maximum open assignments, 0 to 10,000.")

    @extend_schema_serializer(component_name="Rep")
    class OutputSerializer(RepSerializer):
        pass

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, rep_id: int):
        data = validated_input(self.InputSerializer, request)
        with service_errors():
            rep = reps.rep_capacity_set(rep_id=rep_id, capacity=data["capacity"], user=request.user)
        return Response(self.OutputSerializer(rep).data)


@extend_schema(tags=["routing"])
class RepOutOfOfficeAddApi(_RepApi):
    @extend_schema_serializer(component_name="OutOfOfficeInput")
    class InputSerializer(serializers.Serializer):
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()
        note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema_serializer(component_name="OutOfOffice")
    class OutputSerializer(OutOfOfficeSerializer):
        pass

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, rep_id: int):
        data = validated_input(self.InputSerializer, request)
        with service_errors():
            absence = reps.rep_out_of_office_add(rep_id=rep_id, user=request.user, **data)
        return Response(self.OutputSerializer(absence).data, status=status.HTTP_201_CREATED)
