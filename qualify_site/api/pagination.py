"""Cursor pagination whose bad input is a 400 naming the parameter."""

from django import forms
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination

from qualify_site.filters import StrictIsoDateTimeField

MAX_PAGE_SIZE = 500


class StrictCursorPagination(CursorPagination):
    """DRF's cursor pagination, but strict: a page_size outside 1..MAX_PAGE_SIZE
    and a cursor we did not issue answer 400 naming the parameter (DRF would
    quietly clamp the one and answer 404 for the other).

    A cursor carries the position (the first ordering field's value) as text,
    which reaches the database: it is checked with `position_field`, here for
    orderings that start with a date-time.
    """

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    position_field = StrictIsoDateTimeField
    invalid_cursor_message = "Invalid cursor: use the `next` or `previous` link of a page as it is."

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "").strip()
        if not raw:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"Use a whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def decode_cursor(self, request) -> Cursor | None:
        invalid = ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise invalid from None
        if cursor is None or cursor.position is None:
            return cursor
        try:
            position = self.position_field().clean(cursor.position)
        except forms.ValidationError:
            raise invalid from None
        return cursor._replace(position=position.isoformat())

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
                parameter["description"] = f"Results per page, 1 to {self.max_page_size} (default {self.page_size})."
        return parameters
