"""The address of the client a request came from, as far as we can trust it.

Throttles key on it (write-key failures at /v1/, login failures through
django-axes), so it must be something the client cannot choose. X-Forwarded-For
is a list the client starts and each proxy appends to: only the entries our own
proxies appended are trustworthy, so with TRUSTED_PROXY_COUNT proxies in front
the client is the entry that many places from the right. With no proxy
configured the header is ignored entirely and the socket's peer is the client.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    peer = request.META.get("REMOTE_ADDR", "")
    proxy_count = settings.TRUSTED_PROXY_COUNT
    if proxy_count <= 0:
        return peer
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxy_count:
        # The request did not come through all our proxies: nothing in the header is ours.
        return peer
    candidate = forwarded[-proxy_count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer
