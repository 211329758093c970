"""``List-Unsubscribe`` and ``List-Unsubscribe-Post`` for outgoing newsletters.

- RFC 2369 § 3.2: ``List-Unsubscribe`` lists URIs in angle brackets, separated by commas,
  most preferred first; we give the HTTPS one-click URI, then a ``mailto:`` fallback for
  mail readers that only do e-mail.
- RFC 8058 § 3.1: ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` says the HTTPS URI
  takes a one-click POST (the mail reader then POSTs exactly that body, without cookies or
  credentials). The URI must identify recipient and list, opaquely: the token of
  :mod:`personvern.suppression.tokens`.
- RFC 8058 § 4: the message must carry a valid DKIM signature that covers both fields
  (``h=list-unsubscribe:list-unsubscribe-post``). Signing is the sending mail server's
  job (or Mailchimp's, for mail sent there); configure it to include these two fields.
  Gmail and Yahoo require all this of bulk senders since February 2024.

:func:`list_unsubscribe_headers` gives the two fields as a mapping, which is what
:func:`personvern.mail.queue` takes as ``headers=``; :func:`add_list_unsubscribe` sets them
on an :class:`email.message.EmailMessage` built elsewhere.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import getaddresses
from urllib.parse import quote

from personvern.store.suppressions import ALL_LISTS
from personvern.suppression.tokens import make_token

ONE_CLICK = "List-Unsubscribe=One-Click"
PATH = "/unsubscribe"


def unsubscribe_url(base_url: str, token: str) -> str:
    """The one-click URI of ``token`` under the app's public address."""
    return f"{base_url.rstrip('/')}{PATH}/{token}"


def list_unsubscribe_headers(
    secret: bytes,
    base_url: str,
    address: str,
    *,
    list_key: str = ALL_LISTS,
    mailto: str | None = None,
) -> dict[str, str]:
    """The two header fields for a newsletter to ``address`` on ``list_key``.

    ``base_url`` is the app's public address (``PERSONVERN_BASE_URL``; it must be HTTPS in
    production, RFC 8058 § 3.1); ``mailto`` an address that takes unsubscribe requests by
    e-mail, given as a fallback with ``?subject=unsubscribe``.
    """
    url = unsubscribe_url(base_url, make_token(secret, address, list_key))
    uris = [f"<{url}>"]
    if mailto:
        if "@" not in mailto or any(c in mailto for c in "<>,\r\n "):
            raise ValueError(f"mailto {mailto!r} is not a bare e-mail address")
        uris.append(f"<mailto:{quote(mailto, safe='@')}?subject=unsubscribe>")
    return {"List-Unsubscribe": ", ".join(uris), "List-Unsubscribe-Post": ONE_CLICK}


def add_list_unsubscribe(
    message: EmailMessage,
    secret: bytes,
    base_url: str,
    *,
    list_key: str = ALL_LISTS,
    mailto: str | None = None,
) -> EmailMessage:
    """Set both fields on ``message`` for its one ``To`` recipient; returns the message.

    Fields already there are replaced, so a message is never sent with two conflicting
    links. Raises :class:`ValueError` when the message has no single recipient.
    """
    recipients = message.get_all("To") or []
    addresses = [addr for _, addr in getaddresses([str(h) for h in recipients]) if addr]
    if len(addresses) != 1:
        raise ValueError(
            "a newsletter goes to one recipient per message, so that its link names them; "
            f"this one has {len(addresses)} in To"
        )
    fields = list_unsubscribe_headers(
        secret, base_url, addresses[0], list_key=list_key, mailto=mailto
    )
    for name, value in fields.items():
        del message[name]
        message[name] = value
    return message
