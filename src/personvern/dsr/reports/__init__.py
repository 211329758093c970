"""Reports to the person: the answer to each kind of request, and its delivery by link.

- **Access** (GDPR Art. 15): confirmation that data is processed, a complete copy of it
  system by system (:mod:`~personvern.dsr.reports.access`), the Art. 15(1)(a)–(h) and 15(2)
  information tailored from the inventory (:mod:`~personvern.dsr.reports.processing`), as
  HTML and PDF in the person's language, and a ZIP of JSON and CSV for Art. 20
  (:mod:`~personvern.dsr.reports.archive`).
- **Erasure** (Art. 17): what was deleted, anonymized, and kept with its legal ground and
  end date (Art. 17(3)(b), bokføringsloven § 13). **Rectification** (Art. 16) and
  **restriction** (Art. 18): what changed where, and which recipients were told (Art. 19).
  **Objection** to direct marketing (Art. 21(3)): where marketing stopped
  (:mod:`~personvern.dsr.reports.outcomes`).
- **Delivery**: the files kept privately on the server, an expiring single-use link in an
  e-mail, and a page that asks for the address again before it opens
  (:mod:`~personvern.dsr.reports.delivery`, :mod:`~personvern.dsr.reports.downloads`).

The API::

    write_report(runtime, request_id, out_dir)  # -> [Path]; `personvern request report`
    deliver_report(runtime, request_id)         # -> Delivered | None, once per request
    deliver_quietly(runtime, request_id)        # the same, never raising (completion hook)
    purge_reports(runtime)                      # remove folders whose links have ended
"""

from __future__ import annotations

from personvern.dsr.reports.delivery import (
    Delivered,
    deliver_quietly,
    deliver_report,
    purge_reports,
)
from personvern.dsr.reports.gather import ReportError
from personvern.dsr.reports.render import build_report, write_report

__all__ = [
    "Delivered",
    "ReportError",
    "build_report",
    "deliver_quietly",
    "deliver_report",
    "purge_reports",
    "write_report",
]
