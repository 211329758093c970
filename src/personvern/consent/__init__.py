"""Cookie consent: the banner, the consent API and log, and consent receipts.

Ekomloven § 3-15 (in force 1 January 2025) lets a site store or read anything on a
visitor's device only with consent to the GDPR standard, unless it is strictly necessary for
a service the visitor asked for. GDPR Art. 4(11) and 7 say what that consent is and that
the controller must be able to prove it; the EDPB Cookie Banner Taskforce (January 2023) and
Datatilsynet say what a banner may and may not do. This package is that, for the sites in
the inventory:

- :mod:`~personvern.consent.config` builds the banner's configuration from the inventory
  and keeps the exact texts shown; ``static/banner.js`` and ``static/banner.css`` are the
  banner (under 5 kB gzip together);
- :mod:`~personvern.consent.api` serves them and the consent API;
- :mod:`~personvern.consent.log` writes each choice durably (group commit), as records
  chained by hash (:mod:`~personvern.consent.chain`) with plain driver statements
  (:mod:`~personvern.consent.statements`);
- :mod:`~personvern.consent.receipts` shows a consent id's record as an ISO/IEC TS 27560
  receipt; :mod:`~personvern.consent.stats` gives the admin rates, a chart and CSV.

``create_app`` calls :func:`install_consent` once.
"""

from __future__ import annotations

from fastapi import FastAPI

from personvern.consent.api import ConsentState, consent_router
from personvern.consent.config import Banners
from personvern.consent.log import ConsentLog
from personvern.web.state import WebState


def install_consent(app: FastAPI) -> None:
    """Add the consent endpoints and the privacy center's consent page to ``app``."""
    from personvern.web.center import center_router

    web: WebState = app.state.personvern
    state = ConsentState(
        runtime=web.runtime, banners=Banners(web.runtime), log=ConsentLog(web.runtime)
    )
    app.state.consent = state
    app.include_router(consent_router(state))
    app.include_router(center_router())


__all__ = ["ConsentState", "install_consent"]
