import pytest
from django.test import RequestFactory

from qualify_site.client_address import client_address


@pytest.mark.parametrize(
    ("proxy_count", "forwarded_for", "expected"),
    [
        (0, None, "10.0.0.2"),
        (0, "203.0.113.9", "10.0.0.2"),
        (1, None, "10.0.0.2"),
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "192.0.2.1, 203.0.113.9", "203.0.113.9"),
        (2, "192.0.2.1, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.2"),
        (1, "not-an-address", "10.0.0.2"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
    ids=[
        "no-proxy",
        "no-proxy-ignores-the-header",
        "proxy-without-header",
        "one-proxy",
        "one-proxy-ignores-what-the-client-added",
        "two-proxies",
        "fewer-entries-than-proxies",
        "garbage",
        "ipv6",
    ],
)
def test_it_trusts_only_the_forwarded_entries_our_proxies_added(settings, proxy_count, forwarded_for, expected):
    # given
    settings.TRUSTED_PROXY_COUNT = proxy_count
    headers = {"REMOTE_ADDR": "10.0.0.2"}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for

    # when
    address = client_address(RequestFactory().get("/", **headers))

    # then
    assert address == expected
