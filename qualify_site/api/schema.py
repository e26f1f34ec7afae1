"""The OpenAPI schema says, per operation, every error it can answer, and the limits behind them.

QualifyAutoSchema (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]) adds to each
operation's own responses the error statuses that the layers around the view
can produce, each with the one error body (qualify_site.api.errors):

- every operation: 400 (bad input, unreadable query or body), 401 (no or bad
  credentials: a bad token is refused before any view), 406 (Accept is not
  JSON), 414 (URI too long) and 503 (the database is down, with Retry-After);
- 403 where a permission applies or the method writes (CSRF of a session);
- 404 where the path names a record;
- 413 and 415 where the operation takes a body;
- 429 on the token endpoint (failed sign-ins are throttled).
"""

import uritemplate
from django.conf import settings
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import SAFE_METHODS, AllowAny

from qualify_site.api.middleware import MAX_URI_LENGTH
from qualify_site.api.parsers import MAX_JSON_DEPTH


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable and machine readable: invalid, parse_error, not_authenticated, authentication_failed, "
        "permission_denied, not_found, not_acceptable, payload_too_large, uri_too_long, unsupported_media_type, "
        "unavailable, ..."
    )
    message = serializers.CharField(help_text="What went wrong, in plain words.")
    field = serializers.CharField(
        required=False, help_text="With code `invalid`: the first parameter or body field in error."
    )
    errors = serializers.DictField(
        required=False,
        child=serializers.JSONField(),
        help_text="With code `invalid`: every error, as a list of messages per parameter or field.",
    )


_RETRY_AFTER = {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait before retrying."}


def _error_descriptions() -> dict[int, str]:
    return {
        400: (
            "Bad input: `field` names the first bad parameter or body field and `errors` lists them all "
            f"(code `invalid`); or a body that is not JSON or nests deeper than {MAX_JSON_DEPTH} levels, "
            "too many parameters, a Content-Length that is not a number."
        ),
        401: "No credentials, or a token or session that is not valid: send `Authorization: Token <key>`.",
        403: "Your role may not do this (or a session's CSRF token is missing).",
        404: "No such record, or one you may not see.",
        406: "The Accept header asks for something other than JSON.",
        413: f"The request body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
        414: f"The URI (path and query) is over {MAX_URI_LENGTH} bytes.",
        415: "The body is not `application/json`.",
        429: "Too many failed sign-ins for this user name from this address; retry after `Retry-After` seconds.",
        503: "The database is unavailable; retry after `Retry-After` seconds.",
    }


class QualifyAutoSchema(AutoSchema):
    def error_status_codes(self) -> list[int]:
        codes = [400, 401, 406, 414, 503]
        has_permissions = any(permission is not AllowAny for permission in self.view.permission_classes)
        if has_permissions or self.method not in SAFE_METHODS:
            codes.append(403)
        if uritemplate.variables(self.path):
            codes.append(404)
        if self.method in ("POST", "PUT", "PATCH"):
            codes += [413, 415]
        if isinstance(self.view, ObtainAuthToken):
            codes.append(429)
        return sorted(codes)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        descriptions = _error_descriptions()
        for status_code in self.error_status_codes():
            key = str(status_code)
            if key in responses:
                continue
            response = self._get_response_for_code(ErrorSerializer, key, direction=direction)
            response["description"] = descriptions[status_code]
            if status_code in (429, 503):
                response["headers"] = {"Retry-After": _RETRY_AFTER}
            if status_code == 401:
                response["headers"] = {
                    "WWW-Authenticate": {"schema": {"type": "string"}, "description": "The scheme to use: Token."}
                }
            responses[key] = response
        return responses
