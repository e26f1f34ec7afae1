"""Query filters for the API. Invalid values give a 400 naming the parameter.

Related objects are filtered by id with plain number filters, not model-choice
filters: a model-choice filter answers "not a valid choice" for an id that
does not exist, which would let a rep probe which ids exist.
"""

import operator
from functools import reduce

import django_filters
from django.db.models import Q

from leads.models import Account, Event, EventType, Lead, Segment, Stage
from qualify_site.filters import IdFilter, StrictIsoDateTimeFilter


def _search(queryset, value: str, fields: tuple[str, ...]):
    """Rows where any of `fields` contains `value`, ignoring case; every row for a blank value."""
    value = value.strip()
    if not value:
        return queryset
    return queryset.filter(reduce(operator.or_, (Q(**{f"{name}__icontains": value}) for name in fields)))


class LeadFilter(django_filters.FilterSet):
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices)
    source = IdFilter(field_name="source_id")
    campaign = IdFilter(field_name="campaign_id")
    account = IdFilter(field_name="account_id")
    owner = IdFilter(field_name="owner_id")
    created_after = StrictIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = StrictIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = StrictIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = StrictIsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")
    q = django_filters.CharFilter(method="filter_q", label="Search in name, email, title and company")

    class Meta:
        model = Lead
        fields = []

    def filter_q(self, queryset, name, value):
        return _search(queryset, value, ("email", "first_name", "last_name", "title", "account__name"))


class AccountFilter(django_filters.FilterSet):
    segment = django_filters.MultipleChoiceFilter(choices=Segment.choices)
    industry = django_filters.CharFilter(lookup_expr="iexact")
    country = django_filters.CharFilter(lookup_expr="iexact")
    owner = IdFilter(field_name="owner_id")
    domain = django_filters.CharFilter(method="filter_domain")
    q = django_filters.CharFilter(method="filter_q", label="Search in name and domain")

    class Meta:
        model = Account
        fields = []

    def filter_domain(self, queryset, name, value):
        return queryset.filter(domain=value.strip().lower())

    def filter_q(self, queryset, name, value):
        return _search(queryset, value, ("name", "domain"))


class EventFilter(django_filters.FilterSet):
    type = django_filters.MultipleChoiceFilter(choices=EventType.choices)
    event = django_filters.CharFilter(help_text="Track event name, exact.")
    lead = IdFilter(field_name="lead_id")
    account = IdFilter(field_name="account_id")
    source = IdFilter(field_name="source_id")
    after = StrictIsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    before = StrictIsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = Event
        fields = []
