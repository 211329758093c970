"""``kill -9`` while the banner's choices pour in: every acknowledged choice is in the store.

GDPR Art. 7(1) makes the consent log the shop's proof, and the API promises that a choice
it answered with a receipt is durable (``docs/consent.md``). A real ``personvern serve``
process takes concurrent choices from many clients and is killed with SIGKILL mid-stream;
afterwards every consent id that got a 201 has its receipt and entry, with an intact hash
chain. Choices that got no answer may or may not be there: nobody was told either way.
Runs on the store of this test run (SQLite or PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select

from personvern.consent.chain import GENESIS, entry_hash
from personvern.store.consents import ConsentEntry, ConsentReceipt

HERE = Path(__file__).resolve().parent
ASSEMBLE = HERE.parent.parent / "examples" / "assemble" / "privacy.yaml"
SITE = "https://www.assemble.no"
SECRET = "kill-test-secret-key-0123456789abcdefghijklmnop"
CLIENTS = 20
KILL_AFTER = 300  # acknowledged choices before the kill


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(database_url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PERSONVERN_DATABASE_URL": database_url,
        "PERSONVERN_DATA_DIR": str(data_dir),
        "PERSONVERN_INVENTORY": str(ASSEMBLE),
        "PERSONVERN_SECRET_KEY": SECRET,
    }
    command = [str(Path(sys.executable).parent / "personvern"), "serve", "--port", str(port)]
    return subprocess.Popen(  # our own console script
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "personvern serve exited before it was up"
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("personvern serve did not come up within 60 s")


async def _pour(url: str, process: subprocess.Popen[bytes]) -> tuple[set[str], int]:
    """Send choices until KILL_AFTER are acknowledged, kill the server, return the acked ids."""
    acknowledged: set[str] = set()
    unanswered = 0
    killed = asyncio.Event()
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        config = (
            await client.get("/consent/config.json", params={"site": SITE, "lang": "nb"})
        ).json()
        keys = [c["k"] for c in config["cats"] if not c["l"]]

        async def client_loop() -> None:
            nonlocal unanswered
            while not killed.is_set():
                consent_id = str(uuid.uuid4())
                body = {
                    "consent_id": consent_id,
                    "site": SITE,
                    "policy_version": config["v"],
                    "texts_hash": config["h"],
                    "granted": keys,
                    "denied": [],
                    "method": "accept_all",
                    "language": "nb",
                }
                try:
                    response = await client.post(
                        "/api/v1/consents", json=body, headers={"Origin": SITE}
                    )
                except httpx.HTTPError:
                    unanswered += 1
                    return
                assert response.status_code == 201, response.text
                acknowledged.add(consent_id)
                if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                    killed.set()
                    process.send_signal(signal.SIGKILL)

        await asyncio.gather(*(client_loop() for _ in range(CLIENTS)))
    return acknowledged, unanswered


def test_every_acknowledged_choice_survives_sigkill(database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = _serve(database_url, tmp_path / "data", port)
    try:
        _wait_until_up(url, process)
        acknowledged, _ = asyncio.run(_pour(url, process))
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert len(acknowledged) >= KILL_AFTER

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            receipts = {
                row.consent_id: row
                for row in conn.execute(
                    select(ConsentReceipt).where(ConsentReceipt.consent_id.in_(acknowledged))
                )
            }
            entries = {
                row.consent_id: row
                for row in conn.execute(
                    select(ConsentEntry).where(ConsentEntry.consent_id.in_(acknowledged))
                )
            }
    finally:
        engine.dispose()
    lost = acknowledged - set(receipts)
    assert not lost, f"{len(lost)} acknowledged choices are not in the store"
    assert set(entries) == acknowledged
    for consent_id, entry in entries.items():
        assert entry.seq == 1
        assert entry.prev_hash == GENESIS
        assert receipts[consent_id].entry_hash == entry.entry_hash
        assert entry.entry_hash == entry_hash(
            consent_id=consent_id,
            seq=1,
            at=entry.at,
            request=entry.request_hash,
            ip_prefix=entry.ip_prefix,
            ua_family=entry.ua_family,
            prev_hash=GENESIS,
        )
