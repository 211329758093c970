"""The banner's script and stylesheet as served: comments and indentation removed, and a
gzip copy made once, so each response is a lookup.

The source files (``static/banner.js``, ``static/banner.css``) are written to be read, with
comments citing the law. Stripping is deliberately simple and safe for how they are
written: whole-line ``//`` comments and leading spaces in the script (no template literal
or multi-line string spans lines), ``/* … */`` comments and blank lines in the stylesheet.
``bench/banner_size.py`` measures exactly these bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

CONTENT_TYPES = {
    "banner.js": "text/javascript; charset=utf-8",
    "banner.css": "text/css; charset=utf-8",
    "center.css": "text/css; charset=utf-8",
}
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    gzipped: bytes
    etag: str
    content_type: str


def minify_js(source: str) -> str:
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//")) + "\n"


def minify_css(source: str) -> str:
    text = _CSS_COMMENT.sub("", source)
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line) + "\n"


@cache
def asset(name: str) -> Asset:
    """``banner.js``, ``banner.css`` or ``center.css`` as served; :class:`KeyError` else."""
    content_type = CONTENT_TYPES[name]
    source = resources.files("personvern.consent").joinpath(f"static/{name}").read_text("utf-8")
    text = minify_js(source) if name.endswith(".js") else minify_css(source)
    body = text.encode("utf-8")
    return Asset(
        name=name,
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        content_type=content_type,
    )
