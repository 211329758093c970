"""Fixtures for the consent tests: an inventory with a test site, that site, and the app.

The test site is a second tiny HTTP server on loopback (``http://localhost:PORT``) whose
origin is added to a copy of the Assemble inventory's ``sites``, so the banner runs
cross-origin against personvern (``http://127.0.0.1:PORT``), as it does on a real shop.
Its page has the banner's script tag, a Google tag stand-in and tracker fixtures held back
with ``type="text/plain" data-category=…``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from personvern.settings import Settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ASSEMBLE = ROOT / "examples" / "assemble" / "privacy.yaml"
TEST_SECRET = "test-secret-key-not-for-production-0123456789"

PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Testbutikk</title>
<script src="{personvern}/consent/banner.js"></script>
<script>
  // A stand-in for the Google tag: what it would do, in the order it would do it.
  window.dataLayer = window.dataLayer || [];
  function gtag() {{ dataLayer.push(arguments); }}
  gtag("js", new Date());
  gtag("config", "G-TEST");
</script>
<script type="text/plain" data-category="analytics">
  document.cookie = "_ga=GA1.1.1234.5678; path=/; max-age=3600";
  document.cookie = "_ga_TEST=GS1.1.1; path=/; max-age=3600";
  window.trackerRan = (window.trackerRan || 0) + 1;
  window.dataLayer.push({{ event: "tracker" }});
</script>
<script type="text/plain" data-category="marketing">
  document.cookie = "_fbp=fb.1.1234.5678; path=/; max-age=3600";
  window.marketingRan = (window.marketingRan || 0) + 1;
</script>
<style>
  body {{ font: 17px/1.6 Georgia, serif; margin: 0; padding: 2rem; background: #f6f1e7; }}
  .hero {{ height: 12rem; background: #c9b79c; border-radius: 8px; }}
</style>
</head>
<body>
<header><h1>Assemble – testbutikk</h1></header>
<main>
<div class="hero"></div>
<p>Skruer, muttere og alt til prosjektet ditt. <a href="/produkter">Se produktene</a>.</p>
<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.</p>
</main>
<footer><a href="#" data-personvern-open>{footer}</a></footer>
</body>
</html>
"""


class SiteServer:
    """The shop's page on ``http://localhost:PORT``; ``personvern`` is set once known."""

    def __init__(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.origin = f"http://localhost:{self.port}"
        self.personvern = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path not in ("/", "/en", "/produkter"):
                    self.send_error(404)
                    return
                lang = "en" if path == "/en" else "nb"
                footer = (
                    "Cookie settings" if lang == "en" else "Innstillinger for informasjonskapsler"
                )
                body = PAGE.format(lang=lang, personvern=site.personvern, footer=footer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SiteServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with SiteServer() as server:
        yield server


def inventory_with_site(tmp_path: Path, origin: str) -> Path:
    data = yaml.safe_load(ASSEMBLE.read_text(encoding="utf-8"))
    data["sites"].append({"origin": origin, "name": "Testbutikk"})
    path = tmp_path / "privacy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def settings(database_url: str, tmp_path: Path, site: SiteServer) -> Settings:
    """The shared ``settings``, on an inventory that also lists the test site."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        inventory=inventory_with_site(tmp_path, site.origin),
        secret_key=SecretStr(TEST_SECRET),
    )
