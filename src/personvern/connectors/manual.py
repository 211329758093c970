"""The ``manual`` connector: a system with no API, reached by a person.

It can do nothing by itself (no capabilities), so every step of a request in such a system
becomes a manual task: instructions for the shop, and for a vendor an e-mail drafted in
bokmål and English (:mod:`personvern.dsr.drafts`), tracked until an admin marks it done.
Its settings say where the task goes::

    connector:
      type: manual
      settings:
        contact_email: privacy@vendor.example   # the drafted e-mail is addressed here
        contact_url: https://vendor.example/privacy   # or a web form, when there is no address
        instructions: Search the mailbox for the address and delete the threads.

Connectors that lack a capability a request needs get the same treatment for that step.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, EmailStr

from personvern.connectors.base import Capability, Connector


class ManualSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    contact_email: EmailStr | None = None
    contact_url: str | None = None
    instructions: str | None = None


class ManualConnector(Connector):
    name: ClassVar[str] = "manual"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    Settings: ClassVar[type[BaseModel]] = ManualSettings

    async def check(self) -> None:
        """Nothing to reach: a person does the work."""
        return None
