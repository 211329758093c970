"""E-mail: an outbox written in the caller's transaction, and a sender that delivers it.

The API other capabilities use::

    from personvern.mail import queue

    with runtime.audit.session() as session:        # or any session of the store
        request = ...                                # the work that needs a message
        queue(session, to=request.email, subject=..., text=..., html=...,
              lang=request.lang, purpose="verify", request_id=request.id)
    # committed: the message will be sent; rolled back: it never existed

The app sends due messages in the background when ``PERSONVERN_SMTP_HOST`` is set
(:func:`run_sender`, started in the app's lifespan); ``personvern mail send`` does it once
from the command line (:func:`deliver_due`). Without an SMTP host messages stay in the
outbox and are read in the admin at ``/admin/outbox`` — the demo works that way.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from personvern.mail.outbox import InvalidMessage, queue
    from personvern.mail.sender import (
        DeliveryReport,
        background_sender,
        deliver_due,
        run_sender,
    )

# Loaded on first use, so that `personvern --help` (which imports personvern.mail.cli, and
# so this package) does not pay for SQLAlchemy and the rest.
_WHERE = {
    "InvalidMessage": "personvern.mail.outbox",
    "queue": "personvern.mail.outbox",
    "DeliveryReport": "personvern.mail.sender",
    "background_sender": "personvern.mail.sender",
    "deliver_due": "personvern.mail.sender",
    "run_sender": "personvern.mail.sender",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DeliveryReport",
    "InvalidMessage",
    "background_sender",
    "deliver_due",
    "queue",
    "run_sender",
]
