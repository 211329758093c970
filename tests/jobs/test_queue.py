"""procrastinate on PostgreSQL: its own schema, applied once; one waiting job per request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from personvern.connectors.manual import ManualConnector
from personvern.connectors.registry import ConnectorRegistry
from personvern.runtime import Runtime
from personvern.store.requests import DataRequest


@pytest.fixture
def pg(runtime: Runtime, backend: str) -> Runtime:
    if backend != "postgresql":
        pytest.skip("procrastinate runs on PostgreSQL only")
    return runtime


def _count(runtime: Runtime, sql: str, *params: str) -> int:
    from personvern.jobs.queue import conninfo

    with psycopg.connect(conninfo(runtime)) as conn:
        row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
        assert row is not None
        return int(row[0])


def test_the_schema_is_applied_once_and_kept_apart(pg: Runtime) -> None:
    import procrastinate

    from personvern.jobs.queue import ensure_schema

    assert ensure_schema(pg) == procrastinate.__version__
    assert ensure_schema(pg) == procrastinate.__version__  # a second start changes nothing
    tables = (
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'procrastinate_jobs'"
    )
    assert _count(pg, tables + " AND table_schema = 'procrastinate'") == 1
    assert _count(pg, tables + " AND table_schema = 'public'") == 0


def test_enqueueing_twice_leaves_one_waiting_job(pg: Runtime) -> None:
    from personvern.jobs import enqueue_request

    request_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    with pg.sessions() as session, session.begin():
        session.add(
            DataRequest(
                id=request_id,
                kind="access",
                status="verified",
                email="kari@example.no",
                email_key=pg.audit.subject_key("kari@example.no"),
                lang="nb",
                channel="admin",
                received_at=now,
                due_at=now + timedelta(days=30),
            )
        )
    registry = ConnectorRegistry([ManualConnector])
    assert enqueue_request(pg, request_id, registry=registry) == "running"
    assert enqueue_request(pg, request_id, registry=registry) == "running"
    jobs = (
        "SELECT count(*) FROM procrastinate.procrastinate_jobs "
        "WHERE status = 'todo' AND queueing_lock = %s"
    )
    assert _count(pg, jobs, f"request:{request_id}:now") == 1
