"""Assignment list filters. Ids are plain numbers (see leads.api.filters: no probing which ids exist)."""

import django_filters

from qualify_site.filters import IdFilter, StrictBooleanFilter
from routing.models import Assignment, AssignmentStatus, Priority


class AssignmentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AssignmentStatus.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    rep = IdFilter(field_name="rep_id")
    queue = IdFilter(field_name="queue_id")
    lead = IdFilter(field_name="lead_id")
    is_breached = StrictBooleanFilter(field_name="breached_at", lookup_expr="isnull", exclude=True)
    is_at_risk = StrictBooleanFilter(field_name="at_risk_at", lookup_expr="isnull", exclude=True)
    is_waiting = StrictBooleanFilter(method="filter_is_waiting")

    class Meta:
        model = Assignment
        fields = []

    def filter_is_waiting(self, queryset, name, value):
        if value is None:
            return queryset
        waiting = queryset.filter(status=AssignmentStatus.WAITING)
        return waiting if value else queryset.exclude(status=AssignmentStatus.WAITING)
