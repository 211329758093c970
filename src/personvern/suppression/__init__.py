"""Unsubscribe everywhere: one suppression list, fed from every way out, pushed to Mailchimp.

Ways onto the list (each audited, with the address only as a keyed hash):

- the RFC 8058 one-click link in a newsletter's ``List-Unsubscribe`` header
  (:mod:`personvern.suppression.headers` makes the headers, :mod:`.tokens` the opaque
  token, :mod:`personvern.web.unsubscribe` serves ``/unsubscribe/{token}``);
- Mailchimp's webhook, when someone unsubscribes there or their address is cleaned
  (:mod:`.webhook`);
- an admin (``personvern suppression add``);
- a completed objection to direct marketing (a request of kind ``object``).

Leaving one list is honoured for all marketing e-mail: the shop sends one newsletter, and an
objection under GDPR Art. 21(2) is to direct marketing as such. :mod:`.sync` pushes every
address not yet there to Mailchimp (``unsubscribed`` in every audience), in the app's
background and from ``personvern suppression sync``. :func:`is_suppressed` is what a
newsletter sender asks before sending.

Modules: :mod:`.entries` (the list itself), :mod:`.tokens`, :mod:`.headers`,
:mod:`.webhook`, :mod:`.sync`, :mod:`.cli`; the table is
:class:`personvern.store.suppressions.Suppression`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from personvern.suppression.entries import is_suppressed, suppress, unsuppress
    from personvern.suppression.headers import add_list_unsubscribe, list_unsubscribe_headers

# Loaded on first use, so that `personvern --help` (which imports personvern.suppression.cli,
# and so this package) does not pay for SQLAlchemy and the rest.
_WHERE = {
    "is_suppressed": "personvern.suppression.entries",
    "suppress": "personvern.suppression.entries",
    "unsuppress": "personvern.suppression.entries",
    "add_list_unsubscribe": "personvern.suppression.headers",
    "list_unsubscribe_headers": "personvern.suppression.headers",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "add_list_unsubscribe",
    "is_suppressed",
    "list_unsubscribe_headers",
    "suppress",
    "unsuppress",
]
