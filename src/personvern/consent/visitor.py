"""What the server adds to a consent record about the visitor, and no more.

A proof of consent needs to show that a person, with some browser, from some network,
made a choice (GDPR Art. 7(1)); it does not need to identify them further, so it must not
(Art. 5(1)(c), data minimisation). personvern keeps:

- the network of the address, not the address: IPv4 cut to /24, IPv6 to /48 (the
  prefixes Google Analytics and most log anonymisers use);
- the user agent's family ("Firefox", "Chrome"), without version, platform or device.
"""

from __future__ import annotations

import ipaddress
import re

_FAMILIES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("Bot", r"bot\b|crawl|spider|slurp|headless"),
        ("Edge", r"\bEdg(?:e|A|iOS)?/"),
        ("Opera", r"\bOPR/|\bOpera\b"),
        ("Samsung Internet", r"SamsungBrowser/"),
        ("Firefox", r"\bFirefox/|\bFxiOS/"),
        ("Chrome", r"\bChrome/|\bCriOS/|\bChromium/"),
        ("Safari", r"\bSafari/"),
    )
)


def _octet(text: str) -> bool:
    """Whether ``text`` is a decimal octet as the ipaddress module takes it (no leading 0)."""
    return (
        text.isascii()
        and text.isdigit()
        and len(text) <= 3
        and int(text) <= 255
        and (text == "0" or text[0] != "0")
    )


def ip_prefix(address: str | None) -> str:
    """The network of ``address``: ``203.0.113.0/24`` or ``2001:db8:1::/48``; ``unknown``."""
    if not address:
        return "unknown"
    # The common case, a dotted IPv4 address, without the ipaddress module (a consent
    # write is on the hot path of every visitor's first page view).
    parts = address.split(".")
    if len(parts) == 4 and all(_octet(p) for p in parts):
        return f"{parts[0]}.{parts[1]}.{parts[2]}.0/24"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def ua_family(user_agent: str | None) -> str:
    """The browser family of a ``User-Agent`` header, or ``Other``."""
    if not user_agent:
        return "Other"
    head = user_agent[:512]  # a bound: the header is the sender's to make long
    for name, pattern in _FAMILIES:
        if pattern.search(head):
            return name
    return "Other"
