import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser

from qualify_site import navigation
from qualify_site.api.parsers import BoundedJSONParser

logger = logging.getLogger(__name__)

# How long a load balancer or client should wait before probing again.
HEALTH_RETRY_AFTER_SECONDS = 10


@require_GET
def home(request):
    """Send each person where their work is."""
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect(navigation.home_url_name(request.user))


@require_GET
def health(request):
    """Liveness and readiness for load balancers: 200 when the database answers, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        # The error text (host names, user names, driver details) is for the
        # operator's log, never for an unauthenticated caller.
        logger.exception("health check failed: the database does not answer")
        response = JsonResponse({"status": "error", "database": "unavailable"}, status=503)
        response["Retry-After"] = str(HEALTH_RETRY_AFTER_SECONDS)
        return response
    return JsonResponse({"status": "ok", "database": "ok"})


def login_locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """What django-axes answers a user name and address that failed too often: 429 with Retry-After.

    JSON for the token endpoint (/api/auth/token/), in the /v1/ error shape; the
    sign-in page otherwise. Every try during the lockout restarts the cool-off
    (django-axes' default), so its full length is the honest Retry-After.
    """
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = max(1, seconds // 60)
    message = f"Too many failed sign-ins for this user from this address. Try again in {minutes} minutes."
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": "too_many_failures", "message": message}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response


class TokenObtainApi(ObtainAuthToken):
    """DRF's token endpoint, with django-axes' lockout reaching its middleware.

    django-axes marks a locked-out request on the object the authentication
    backend is given, which here is DRF's wrapper, not the HttpRequest that
    AxesMiddleware sees afterwards: without carrying the mark over, a locked-out
    client would get 400 "Unable to log in" instead of 429 with Retry-After.
    """

    # Our JSON parser: DRF's own fails on deeply nested bodies with a 500.
    parser_classes = [BoundedJSONParser, FormParser, MultiPartParser]

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        finally:
            if getattr(request, "axes_locked_out", False):
                request._request.axes_locked_out = True
                request._request.axes_credentials = getattr(request, "axes_credentials", None)
