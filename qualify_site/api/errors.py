"""One error body for every API answer that is not a success.

    {"code": "not_found", "message": "Not found."}
    {"code": "invalid", "message": "stage: ...", "field": "stage", "errors": {"stage": ["..."]}}

`code` is stable and machine readable, `message` is plain words, and a 400
for bad input names the first bad `field` and lists every error per field in
`errors`. The same {code, message} as /v1 ingestion.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from qualify_site.unavailable import RETRY_AFTER_SECONDS, is_dependency_unavailable, log_unavailable, unavailable_body


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def _first_message(errors) -> str:
    """The first message of a (possibly nested) DRF error structure."""
    while isinstance(errors, dict | list) and errors:
        errors = next(iter(errors.values())) if isinstance(errors, dict) else errors[0]
    return str(errors)


def validation_body(errors) -> dict:
    if not isinstance(errors, dict):
        errors = {"non_field_errors": errors if isinstance(errors, list) else [errors]}
    field = next(iter(errors), "non_field_errors")
    message = _first_message(errors[field]) if field in errors else "Invalid input."
    return {
        "code": "invalid",
        "message": f"{field}: {message}" if field != "non_field_errors" else message,
        "field": field,
        "errors": errors,
    }


def _as_api_exception(error: Exception) -> Exception:
    """Django's own request errors as DRF's, so that they get our body, not an HTML page."""
    if isinstance(error, Http404):
        return exceptions.NotFound(*error.args)
    if isinstance(error, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*error.args)
    if isinstance(error, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(error, TooManyFieldsSent):
        return exceptions.ParseError("Too many query or form parameters.")
    return error


def api_exception_handler(error: Exception, context: dict):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: DRF's answer in our body, and 503 for a dependency down."""
    if is_dependency_unavailable(error):
        view = context.get("view")
        log_unavailable(error, request=context["request"], view=type(view).__name__ if view is not None else "")
        set_rollback()
        return Response(unavailable_body(), status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    error = _as_api_exception(error)
    response = exception_handler(error, context)
    if response is None:
        return None
    if isinstance(error, exceptions.ValidationError):
        response.data = validation_body(response.data)
    else:
        code = getattr(error.detail, "code", None) or error.default_code
        response.data = {"code": str(code), "message": _first_message(error.detail)}
    return response


def page_not_found(request, exception):
    """handler404: a URL no route matches (`/api/leads/abc/`) answers the API's body under /api/."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"code": "not_found", "message": "No API operation at this URL."}, status=404)
    return defaults.page_not_found(request, exception)
