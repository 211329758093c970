"""Notices made from the inventory, and the notice linter.

* :func:`render_notice`: the privacy policy (GDPR Art. 13/14), the cookie declaration
  (ekomloven § 3-15) and the record of processing (GDPR Art. 30), in bokmål or English, as
  Markdown, HTML or PDF.
* :func:`lint_text` and :func:`lint_inventory`: a notice (HTML, Markdown or plain text) or
  an inventory checked item by item; :class:`LintReport` says what is covered, missing or
  wrong in law, with quotes.
* :func:`policy_fingerprint` and :func:`diff_html`: when a rendered policy has changed, and
  how.
"""

from __future__ import annotations

from personvern.notices.lint import LintItem, LintReport, lint_inventory, lint_text
from personvern.notices.pdf import PdfUnavailable
from personvern.notices.render import render_notice, stylesheet
from personvern.notices.versions import diff_html, policy_fingerprint

__all__ = [
    "LintItem",
    "LintReport",
    "PdfUnavailable",
    "diff_html",
    "lint_inventory",
    "lint_text",
    "policy_fingerprint",
    "render_notice",
    "stylesheet",
]
