"""Filter fields shared by the APIs."""

from datetime import UTC, timedelta

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}

# PostgreSQL refuses a UTC offset of 16 hours or more ("time zone displacement
# out of range"); Python accepts up to 24, so the difference used to be a 500.
MAX_UTC_OFFSET = timedelta(hours=16)


class StrictBooleanField(forms.Field):
    """true/false (or 1/0, yes/no); anything else is an error naming the field,
    where django-filter's default would silently ignore it."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class StrictIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time that PostgreSQL and Python can both hold, in UTC.

    The offset must be under 16 hours and the moment, moved to UTC, must fall
    in years 1 to 9999; anything else is an error naming the field, not a
    database error. The value goes to the database in UTC, so PostgreSQL never
    sees an offset it might refuse (such as seconds in the offset).
    """

    default_error_messages = {
        "offset": "The UTC offset must be between -15:59 and +15:59.",
        "overflow": "The date and time must fall between years 1 and 9999 in UTC.",
    }

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        if abs(moment.utcoffset()) >= MAX_UTC_OFFSET:
            raise forms.ValidationError(self.error_messages["offset"], code="offset")
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["overflow"], code="overflow") from None


class StrictIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = StrictIsoDateTimeField


# The largest value of a PostgreSQL bigint, the type of every id column.
MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """A row id: a whole number a bigint holds. django-filter's NumberFilter takes
    decimals, so `owner=1.5` matched id 1, and a number past bigint was a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
