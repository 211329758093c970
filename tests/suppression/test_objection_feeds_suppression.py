"""A completed objection to direct marketing (request kind ``object``) puts the address on
the suppression list, in the transaction that completes the request; other kinds do not."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from suppression_support import audit_entries, rows

from personvern.dsr.progress import Progress
from personvern.runtime import Runtime
from personvern.store.requests import DataRequest, RequestStep

ADDRESS = "Sigrid.Lie@Example.no"


def _request(runtime: Runtime, kind: str, step_status: str) -> str:
    """A running request with one step, written straight to the store as the executor
    leaves it just before settling."""
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    with runtime.sessions() as session, session.begin():
        session.add(
            DataRequest(
                id=request_id,
                kind=kind,
                status="running",
                email=ADDRESS,
                email_key=runtime.audit.subject_key(ADDRESS),
                name="Sigrid Lie",
                lang="nb",
                channel="admin",
                received_at=now,
                due_at=now + timedelta(days=30),
                verified_at=now,
                changes=json.dumps({}),
                details="{}",
            )
        )
        session.flush()
        session.add(
            RequestStep(
                request_id=request_id,
                system_key="mailchimp",
                connector="mailchimp",
                action="unsubscribe",
                status=step_status,
            )
        )
    return request_id


def test_a_completed_objection_is_suppressed(runtime: Runtime) -> None:
    request_id = _request(runtime, "object", "done")
    assert Progress(runtime, "system:runner").settle(request_id, datetime.now(UTC)) == "completed"
    [row] = rows(runtime)
    assert (row.address, row.source, row.list_key, row.sync_status) == (
        "sigrid.lie@example.no",
        "request",
        "*",
        "pending",
    )
    [entry] = audit_entries(runtime)
    assert (entry.actor, entry.subject_key) == ("system:runner", runtime.audit.subject_key(ADDRESS))
    # The same person objecting again changes nothing on the list.
    again = _request(runtime, "object", "done")
    assert Progress(runtime, "system:runner").settle(again, datetime.now(UTC)) == "completed"
    assert len(rows(runtime)) == 1
    assert len(audit_entries(runtime)) == 1


@pytest.mark.parametrize(
    ("kind", "step_status", "expected"),
    [
        ("object", "waiting", "waiting"),
        ("object", "failed", "failed"),
        ("erase", "done", "completed"),
        ("access", "done", "completed"),
    ],
)
def test_nothing_else_is_suppressed(
    runtime: Runtime, kind: str, step_status: str, expected: str
) -> None:
    request_id = _request(runtime, kind, step_status)
    assert Progress(runtime, "system:runner").settle(request_id, datetime.now(UTC)) == expected
    assert rows(runtime) == []
