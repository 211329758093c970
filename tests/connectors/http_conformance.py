"""The conformance kit for connectors that reach a vendor over HTTP (issue 5).

Subclass :class:`HttpConnectorConformance` instead of ``ConnectorConformance`` and provide,
on top of that kit's fixtures:

- ``faults`` — the :class:`personvern.sandbox.faults.Faults` of the sandbox the
  ``connector`` talks to (``sandbox_server.faults("mailchimp")``).

The connector's Settings must have a ``timeout`` (seconds) field: the kit copies the
connector with a short timeout to prove that a vendor that hangs is retriable.

What it proves, on top of the base kit: 401 and 403 are Fatal (bad or under-privileged
credentials) with a message that says to fix the credentials and does not quote them;
429 and 5xx are Retriable and carry the vendor's ``Retry-After``; a timeout is Retriable;
after the faults pass, the connector works again (no broken state is kept).
"""

from __future__ import annotations

import pytest
from conformance import NOBODY, ConnectorConformance

from personvern.connectors.base import Connector, Fatal, Identity, Retriable
from personvern.sandbox.faults import Faults


def _secrets(connector: Connector) -> list[str]:
    """Every secret value in the connector's settings, to check messages never hold them."""
    values = []
    for value in connector.settings.model_dump().values():
        if hasattr(value, "get_secret_value"):
            secret = value.get_secret_value()
            if secret:
                values.append(str(secret))
    return values


class HttpConnectorConformance(ConnectorConformance):
    @pytest.mark.parametrize("status", [401, 403])
    async def test_refused_credentials_are_fatal(
        self, connector: Connector, person: Identity, faults: Faults, status: int
    ) -> None:
        faults.fail_next(status, times=20)
        try:
            with pytest.raises(Fatal) as caught:
                await connector.access(person)
        finally:
            faults.reset()
        message = str(caught.value)
        assert str(status) in message
        assert "credential" in message.lower()
        for secret in _secrets(connector):
            assert secret not in message, "a secret leaked into an error message"
        await connector.access(person)  # and it recovers once the vendor does

    @pytest.mark.parametrize("status", [429, 500, 502, 503])
    async def test_throttling_and_server_errors_are_retriable_with_retry_after(
        self, connector: Connector, person: Identity, faults: Faults, status: int
    ) -> None:
        faults.fail_next(status, retry_after="7")
        try:
            with pytest.raises(Retriable) as caught:
                await connector.access(person)
        finally:
            faults.reset()
        assert caught.value.retry_after == pytest.approx(7)
        assert (await connector.access(person)).records

    async def test_a_vendor_that_hangs_is_retriable(
        self, connector: Connector, faults: Faults
    ) -> None:
        settings = connector.settings.model_copy(update={"timeout": 0.3})
        impatient = type(connector)(settings)
        faults.fail_next(200, hang=1.5)
        try:
            with pytest.raises(Retriable):
                await impatient.access(NOBODY)
        finally:
            faults.reset()
            await impatient.aclose()

    async def test_check_fails_clearly_on_bad_credentials(self, bad_connector: Connector) -> None:
        with pytest.raises(Fatal) as caught:
            await bad_connector.check()
        assert str(caught.value)
        for secret in _secrets(bad_connector):
            assert secret not in str(caught.value)
