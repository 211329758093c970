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

from collections.abc import Callable

import pytest
from conformance import NOBODY, ConnectorConformance, Snapshot

from personvern.connectors.base import Connector, ErasurePlan, Fatal, Hold, Identity, Retriable
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
        self, connector: Connector, person: Identity, faults: Faults
    ) -> None:
        # The person, not NOBODY: a connector that finds people through another system
        # first (Klarna, Vipps through the shop) only calls its vendor for someone found.
        settings = connector.settings.model_copy(update={"timeout": 0.3})
        impatient = type(connector)(settings)
        faults.fail_next(200, hang=1.5)
        try:
            with pytest.raises(Retriable):
                await impatient.access(person)
        finally:
            faults.reset()
            await impatient.aclose()

    async def test_check_fails_clearly_on_bad_credentials(self, bad_connector: Connector) -> None:
        with pytest.raises(Fatal) as caught:
            await bad_connector.check()
        assert str(caught.value)
        for secret in _secrets(bad_connector):
            assert secret not in str(caught.value)


class CannotEraseConformance(HttpConnectorConformance):
    """The HTTP kit for a connector without erasure (an independent controller with no
    deletion API, such as Klarna or Vipps): the base kit's erasure tests become "erase
    refuses with Fatal and changes nothing"; the planner then makes the step a manual
    forward task, which the connector's own tests check."""

    async def test_erase_leaves_the_person_unfindable_and_is_idempotent(
        self, connector: Connector, person: Identity
    ) -> None:
        assert "erase" not in type(connector).capabilities
        with pytest.raises(Fatal, match="cannot erase"):
            await connector.erase(person, ErasurePlan("anonymize"))

    async def test_erase_changes_no_one_elses_data(
        self, connector: Connector, person: Identity, snapshot: Callable[[], Snapshot]
    ) -> None:
        before = snapshot()
        for action in ("anonymize", "delete"):
            with pytest.raises(Fatal, match="cannot erase"):
                await connector.erase(person, ErasurePlan(action))  # type: ignore[arg-type]
        assert snapshot() == before

    async def test_erase_with_nothing_found_changes_nothing(
        self, connector: Connector, snapshot: Callable[[], Snapshot]
    ) -> None:
        before = snapshot()
        with pytest.raises(Fatal, match="cannot erase"):
            await connector.erase(NOBODY, ErasurePlan("delete"))
        assert snapshot() == before

    async def test_erase_honours_and_reports_holds(
        self,
        connector: Connector,
        person: Identity,
        snapshot: Callable[[], Snapshot],
        hold: Hold,
    ) -> None:
        before = snapshot()
        with pytest.raises(Fatal, match="cannot erase"):
            await connector.erase(person, ErasurePlan("anonymize", (hold,)))
        assert snapshot() == before
