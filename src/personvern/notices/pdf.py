"""HTML to PDF with WeasyPrint (the optional extra ``personvern[pdf]``).

WeasyPrint lays out the same standalone HTML the web shows, print CSS included, and writes
real text into the PDF, so the notice can be searched, copied and read by a screen reader.
It needs Pango (Debian: ``libpango-1.0-0``, ``libpangoft2-1.0-0``) and a font with the
Norwegian letters (``fonts-dejavu-core``). Nothing is fetched over the network: a notice
refers to no external resource, and the fetcher refuses any that appears.
"""

from __future__ import annotations

from typing import Any, NoReturn


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs are missing."""


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    # A notice is self-contained; fetching anything would leak the reader's request.
    raise ValueError(f"notices load no external resources (asked for {url!r})")


def html_to_pdf(html: str) -> bytes:
    """``html`` (a standalone page) as PDF bytes with extractable text."""
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]  # ships no type hints
    except (ImportError, OSError) as exc:  # OSError: Pango missing
        raise PdfUnavailable(
            "PDF output needs WeasyPrint: pip install 'personvern[pdf]' "
            f"(and Debian's libpango-1.0-0 and fonts-dejavu-core): {exc}"
        ) from exc
    document = HTML(string=html, url_fetcher=_no_fetch)
    # Title and language come from the page's <title> and <html lang>.
    pdf = document.write_pdf()
    if not isinstance(pdf, bytes):
        raise PdfUnavailable("WeasyPrint returned no PDF")
    return pdf
