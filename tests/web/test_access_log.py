"""The access log keeps no full IP address and no secret (personvern.web.access_log)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from personvern.web.access_log import AccessLogFilter, client_network

FORMAT = '%s - "%s %s HTTP/%s" %d'


def _line(client: str, path: str) -> str:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, FORMAT, (client, "GET", path, "1.1", 200), None
    )
    AccessLogFilter().filter(record)
    return record.getMessage()


@pytest.mark.parametrize(
    ("client", "network"),
    [
        ("203.0.113.77:51234", "203.0.113.0/24"),
        ("[2001:db8:1234:5678::1]:443", "2001:db8:1234::/48"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("127.0.0.1", "127.0.0.0/24"),
        ("testclient:50000", "unknown"),
    ],
)
def test_client_addresses_are_cut_to_their_network(client: str, network: str) -> None:
    assert client_network(client) == network
    assert _line(client, "/").startswith(f'{network} - "GET / HTTP/1.1" 200')


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (
            "/privacy/verify/Wk5otDBYQFQUYzSayjeKRL0fJZlp8BaS9lvrtqYjEOU.9e54a3976cc2fa62884f6672dff0be0f",
            "/privacy/verify/[link]",
        ),
        ("/unsubscribe/AbC-123_xyz?lang=en", "/unsubscribe/[link]?lang=en"),
        ("/webhooks/mailchimp/s3cr3t", "/webhooks/mailchimp/[link]"),
        ("/admin/requests?status=open&email=kari%40example.no", "?status=open&email=[address]"),
        ("/api/v1/ping", "/api/v1/ping"),
    ],
)
def test_secrets_in_paths_are_blanked(path: str, logged: str) -> None:
    assert logged in _line("198.51.100.9:4000", path)


def test_the_app_installs_the_filter(client: TestClient) -> None:
    filters = logging.getLogger("uvicorn.access").filters
    assert sum(isinstance(f, AccessLogFilter) for f in filters) == 1
