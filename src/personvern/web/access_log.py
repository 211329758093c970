"""uvicorn's access log, made fit to keep: no secrets and no full IP addresses in it.

The server writes one line per request: the client's address, the method, the path and the
status. Left as it is, that line would hold what personvern takes care never to keep
elsewhere:

- **the client's IP address**, for every visitor of the shop whose browser loads the banner
  or sends a choice. The consent log keeps only the network (IPv4 /24, IPv6 /48), because
  that is all a proof needs (GDPR Art. 5(1)(c)); the access log keeps the same and no more
  (:func:`personvern.consent.visitor.ip_prefix`), and drops the client's port;
- **secrets in paths**: the signed links we e-mail (``/privacy/verify/TOKEN.SIG``,
  ``/privacy/status/…``), one-click unsubscribe tokens (``/unsubscribe/TOKEN``) and the
  Mailchimp webhook's secret (``/webhooks/mailchimp/SECRET``) become ``[link]``; whoever
  reads the log cannot use them;
- **addresses in queries**: the admin's ``?email=`` filter becomes ``[address]``.

One filter does all of it; :func:`install` adds it to the logger once, however many apps
are built in a process.
"""

from __future__ import annotations

import logging
import re

from personvern.consent.visitor import ip_prefix

ACCESS_LOGGER = "uvicorn.access"
# The shape of a link value (personvern.dsr.verification): token, dot, signature.
_LINK_VALUE = re.compile(r"[A-Za-z0-9_-]{43}\.[0-9a-f]{32}")
_SECRET_PATHS = re.compile(r"(/unsubscribe/|/webhooks/mailchimp/)[^\s?\"/]+")
_EMAIL_QUERY = re.compile(r"([?&]email=)[^&\s\"]*")


def redact(text: str) -> str:
    """``text`` with link values, secret path parts and ``?email=`` values blanked."""
    text = _LINK_VALUE.sub("[link]", text)
    text = _SECRET_PATHS.sub(r"\1[link]", text)
    return _EMAIL_QUERY.sub(r"\1[address]", text)


def client_network(client: str) -> str:
    """``203.0.113.7:51234`` → ``203.0.113.0/24``; ``[2001:db8::1]:443`` → ``2001:db8::/48``."""
    host = client
    if host.startswith("["):  # [IPv6]:port
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:  # IPv4:port
        host = host.split(":", 1)[0]
    return ip_prefix(host)


class AccessLogFilter(logging.Filter):
    """Truncates the client address and blanks secrets in an access-log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[0], str):
            # uvicorn's format: client, method, path with query, HTTP version, status.
            _, method, path, version, status = args
            path = redact(path) if isinstance(path, str) else path
            record.args = (client_network(args[0]), method, path, version, status)
        else:
            if isinstance(record.msg, str):
                record.msg = redact(record.msg)
            if isinstance(args, tuple):
                record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        return True


def install(logger_name: str = ACCESS_LOGGER) -> None:
    """Add :class:`AccessLogFilter` to the access log, once."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, AccessLogFilter) for f in logger.filters):
        logger.addFilter(AccessLogFilter())
