"""Limits on requests to the API, checked before anything reads them."""

from django.conf import settings
from django.http import JsonResponse

# gunicorn refuses a request line over 4094 bytes (limit_request_line) with its
# own 414; the API answers the same, in its own body, under any server, for a
# URI (path and query) over this length.
MAX_URI_LENGTH = 4000


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


class ApiRequestLimitsMiddleware:
    """414 for a URI too long, 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE, on /api/ only
    (the limits the schema states: qualify_site.api.schema).

    Django enforces its body limit only for form data; DRF reads a JSON body
    whole, whatever its size. WSGI hands Django no more than Content-Length
    bytes, so checking the header bounds what is read.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            refusal = self.refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def refusal(self, request) -> JsonResponse | None:
        uri_length = len(request.get_full_path().encode())
        if uri_length > MAX_URI_LENGTH:
            return _error(414, "uri_too_long", f"The URI is over the {MAX_URI_LENGTH} byte limit.")
        if request.method not in ("POST", "PUT", "PATCH"):
            return None  # nothing reads the body of a GET
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _error(400, "bad_request", "Content-Length is not a number.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if declared > limit:
            return _error(413, "payload_too_large", f"The request body is over the {limit} byte limit.")
        return None
