"""``personvern sandbox`` as a real process: it serves, describes itself, and stops on a signal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from personvern.demo.shop import build_shop
from personvern.sandbox.server import VENDOR_MODULES
from personvern.sandbox.wiring import VARIABLES

_SERVING = re.compile(r"^sandbox: (http://127\.0\.0\.1:\d+) ")
_EXPORT = re.compile(r"^export ([A-Z0-9_]+)=(.*)$")


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "personvern", "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


# What the Assemble inventory needs, plus the shop database and GA's credentials file.
WANTED = {v.name for v in VARIABLES} | {"GOOGLE_APPLICATION_CREDENTIALS", "SHOP_DATABASE_URL"}


def _read_until_exports_end(proc: subprocess.Popen[str]) -> list[str]:
    """The lines printed up to the last ``export`` (the process then waits for a signal)."""
    assert proc.stdout is not None
    lines: list[str] = []
    exported: set[str] = set()
    while not exported >= WANTED:
        line = proc.stdout.readline()
        if not line:  # the process ended before it was ready
            assert proc.stderr is not None
            pytest.fail(f"personvern sandbox stopped early: {proc.stderr.read()}")
        lines.append(line.rstrip("\n"))
        if found := _EXPORT.match(lines[-1]):
            exported.add(found.group(1))
    return lines


@pytest.fixture
def shop_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    build_shop(url, customers=20)
    return url


@pytest.fixture
def running(shop_url: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    proc = _start("--shop", shop_url)
    try:
        yield proc, _read_until_exports_end(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_it_serves_every_vendor_and_prints_the_inventorys_environment(
    running: tuple[subprocess.Popen[str], list[str]], shop_url: str
) -> None:
    proc, lines = running
    base = next(m.group(1) for line in lines if (m := _SERVING.match(line)))
    described = httpx.get(base + "/_sandbox", timeout=10).json()
    assert set(described) == set(VENDOR_MODULES)
    for name, vendor in described.items():
        # Each vendor's URL and credentials are printed as GET /_sandbox gives them.
        assert f"  {name}: {vendor['url']}" in lines
        assert vendor["credentials"]
    exports = {m[1]: m[2] for line in lines if (m := _EXPORT.match(line))}
    assert exports["SHOP_DATABASE_URL"] == shop_url
    assert exports["MAILCHIMP_API_URL"] == described["mailchimp"]["url"] + "/3.0"
    assert exports["KLARNA_API_PASSWORD"] == described["klarna"]["credentials"]["password"]
    # The printed values really open the vendors: Mailchimp's ping with the printed key.
    ping = httpx.get(
        exports["MAILCHIMP_API_URL"] + "/ping",
        auth=("anystring", exports["MAILCHIMP_API_KEY"]),
        timeout=10,
    )
    assert ping.status_code == 200, ping.text
    credentials = Path(exports["GOOGLE_APPLICATION_CREDENTIALS"])
    assert credentials.stat().st_mode & 0o077 == 0  # secrets: readable by the owner only

    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "sandbox: stopped" in out
    assert not credentials.exists()  # its temporary folder went with it


def test_it_serves_only_the_vendors_asked_for(shop_url: str) -> None:
    proc = _start("--shop", shop_url, "--vendor", "klarna")
    try:
        assert proc.stdout is not None
        base = None
        while base is None:
            line = proc.stdout.readline()
            assert line, "personvern sandbox stopped early"
            if found := _SERVING.match(line):
                base = found.group(1)
        assert set(httpx.get(base + "/_sandbox", timeout=10).json()) == {"klarna"}
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        proc.communicate(timeout=20)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vendor", "paypal"], "no sandbox is named paypal; there are google_analytics"),
        (["--shop", "sqlite:///nowhere-at-all.sqlite3"], "holds no demo shop"),
    ],
)
def test_mistakes_are_refused_with_what_to_do(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "personvern", "sandbox", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert message in done.stderr


@pytest.mark.parametrize("flag", ["--sandbox", "--no-sandbox"])
def test_the_demo_starts_the_sandboxes_unless_told_not_to(flag: str, tmp_path: Path) -> None:
    args = ["demo", "--dir", str(tmp_path / "demo"), "--no-serve", "--customers", "20", flag]
    done = subprocess.run(
        [sys.executable, "-m", "personvern", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("PERSONVERN_")},
    )
    assert done.returncode == 0, done.stderr
    started = re.search(r"^sandbox: woocommerce, mailchimp, .* at (http://\S+)$", done.stdout, re.M)
    assert (started is not None) == (flag == "--sandbox"), done.stdout
    # Google Analytics' credentials file is in the demo's folder only when it was served.
    written = (tmp_path / "demo" / "google-analytics-credentials.json").exists()
    assert written == (flag == "--sandbox")
