"""Helpers shared by the consent tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from personvern.runtime import Runtime
from personvern.store.consents import ConsentEntry

SITE = "https://www.assemble.no"


def config(client: TestClient, site: str = SITE, lang: str = "nb") -> dict[str, Any]:
    response = client.get("/consent/config.json", params={"site": site, "lang": lang})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def choice(cfg: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An "accept all" for ``cfg``, with ``changes`` applied."""
    keys = [c["k"] for c in cfg["cats"] if not c["l"]]
    body: dict[str, Any] = {
        "consent_id": str(uuid.uuid4()),
        "site": cfg["site"],
        "policy_version": cfg["v"],
        "texts_hash": cfg["h"],
        "granted": keys,
        "denied": [],
        "method": "accept_all",
        "gpc": False,
        "language": cfg["lang"],
        "page": "/",
    }
    body.update(changes)
    return body


def entries(runtime: Runtime, consent_id: str | None = None) -> list[ConsentEntry]:
    with runtime.sessions() as db:
        query = select(ConsentEntry).order_by(ConsentEntry.id)
        if consent_id is not None:
            query = query.where(ConsentEntry.consent_id == consent_id)
        return list(db.scalars(query))
