import logging

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

# How long a load balancer or client should wait before probing again.
HEALTH_RETRY_AFTER_SECONDS = 10


@require_GET
def home(request):
    """Send each person where their work is."""
    if not request.user.is_authenticated:
        return redirect("login")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("scoring:definitions")


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
