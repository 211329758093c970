"""The executor on a real store (SQLite or PostgreSQL) against a real HTTP server on loopback.

The clock is the test's: retries move it on instead of sleeping, so a Retry-After of an hour
takes no time and the waits can be read back exactly.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from executor_support import (
    Answer,
    FakeClock,
    HttpConnector,
    ScriptedServer,
    make_request,
    run_async,
    system,
    write_inventory,
)

from personvern.connectors.manual import ManualConnector
from personvern.connectors.registry import ConnectorRegistry
from personvern.dsr.control import StepError, next_due, queue_request, retry_step
from personvern.dsr.executor import Executor, backoff, complete_manual_step
from personvern.dsr.progress import Progress
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.requests import DataRequest, RequestStep

REGISTRY = ConnectorRegistry([HttpConnector, ManualConnector])
EMAIL = "kari.nordmann@example.no"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


@pytest.fixture
def shop(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    """A runtime on this test's store, with an inventory and job settings of the test's."""
    opened: list[Runtime] = []

    def build(
        systems: list[dict[str, Any]], *, bookkeeping_on: tuple[str, ...] = (), **jobs: Any
    ) -> Runtime:
        inventory = write_inventory(
            tmp_path / "privacy.yaml", systems, bookkeeping_on=bookkeeping_on
        )
        runtime = Runtime.open(
            settings.model_copy(update={"inventory": inventory, **jobs}), migrate=False
        )
        opened.append(runtime)
        return runtime

    yield build
    for runtime in opened:
        runtime.close()


def http(key: str, server: ScriptedServer, **extra: Any) -> dict[str, Any]:
    settings = {"url": server.url, "system": key, **extra}
    return system(key, {"type": "http_test", "settings": settings})


def steps_of(runtime: Runtime, request_id: str) -> dict[str, RequestStep]:
    with runtime.sessions() as session:
        rows = session.query(RequestStep).filter_by(request_id=request_id).all()
        return {r.system_key: r for r in rows}


def status_of(runtime: Runtime, request_id: str) -> str:
    with runtime.sessions() as session:
        request = session.get(DataRequest, request_id)
        assert request is not None
        return request.status


async def start(runtime: Runtime, **kwargs: Any) -> tuple[str, Executor, FakeClock]:
    request_id = make_request(runtime, **kwargs)
    await asyncio.to_thread(queue_request, runtime, request_id, REGISTRY)
    clock = FakeClock()
    return request_id, Executor(runtime, REGISTRY, clock=clock, rng=random.Random(7)), clock


# --- concurrency ---------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "override"), [(2, {}), (4, {"http_test": 3})])
def test_steps_run_concurrently_within_the_per_connector_limit(
    shop: Callable[..., Runtime], server: ScriptedServer, limit: int, override: dict[str, int]
) -> None:
    async def scenario() -> None:
        keys = [f"s{i}" for i in range(7)]
        for key in keys:
            server.script(f"/erase/{key}", Answer(delay=0.25))
        runtime = shop(
            [http(k, server) for k in keys],
            jobs_concurrency=limit,
            jobs_concurrency_per_connector=override,
        )
        request_id, executor, _ = await start(runtime)
        outcome = await executor.run(request_id)
        assert outcome.status == "completed"
        assert outcome.wake_at is None
        assert server.log.max_in_flight == override.get("http_test", limit)
        assert all(server.log.count(f"/erase/{k}") == 1 for k in keys)
        assert {s.status for s in steps_of(runtime, request_id).values()} == {"done"}

    run_async(scenario())


# --- retries -----------------------------------------------------------------------------------


def test_retry_after_is_honoured(shop: Callable[..., Runtime], server: ScriptedServer) -> None:
    async def scenario() -> None:
        server.script("/erase/shop", Answer(429, retry_after="7"), Answer(200))
        runtime = shop([http("shop", server)], jobs_backoff_seconds=1.0)
        request_id, executor, clock = await start(runtime)
        outcome = await executor.run(request_id)
        assert outcome.status == "completed"
        assert server.log.count("/erase/shop") == 2
        # Waited what the system asked (plus at most the jitter), not the 1 s backoff.
        assert len(clock.sleeps) == 1
        assert 7.0 <= clock.sleeps[0] <= 7.5
        step = steps_of(runtime, request_id)["shop"]
        assert (step.status, step.attempts, step.last_error) == ("done", 2, None)
        actions = [e.action for e in runtime.audit.entries()]
        assert actions.count("request.step.started") == 2
        assert actions.count("request.step.retry") == 1

    run_async(scenario())


def test_backoff_doubles_with_jitter_without_retry_after(
    shop: Callable[..., Runtime], server: ScriptedServer
) -> None:
    async def scenario() -> None:
        server.script("/erase/shop", Answer(503), Answer(502), Answer(503), Answer(200))
        runtime = shop([http("shop", server)], jobs_backoff_seconds=2.0, jobs_max_attempts=5)
        request_id, executor, clock = await start(runtime)
        assert (await executor.run(request_id)).status == "completed"
        assert len(clock.sleeps) == 3
        for attempt, slept in enumerate(clock.sleeps, start=1):
            step = 2.0 * 2 ** (attempt - 1)
            assert step / 2 <= slept <= step

    run_async(scenario())


@pytest.mark.parametrize(
    ("attempt", "retry_after", "low", "high"),
    [
        (1, None, 5, 10),
        (3, None, 20, 40),
        (10, None, 30, 60),
        (1, 45.0, 45, 46),
        (1, 3600.0, 3600, 3601),
    ],
)
def test_backoff_table(attempt: int, retry_after: float | None, low: float, high: float) -> None:
    rng = random.Random(1)
    for _ in range(50):
        delay = backoff(attempt, base=10, cap=60, retry_after=retry_after, rng=rng)
        assert low <= delay <= high


def test_a_long_retry_after_is_left_for_later_not_slept_on(
    shop: Callable[..., Runtime], server: ScriptedServer
) -> None:
    async def scenario() -> None:
        server.script("/erase/shop", Answer(429, retry_after="3600"), Answer(200))
        runtime = shop([http("shop", server), http("other", server)])
        request_id, executor, clock = await start(runtime)
        outcome = await executor.run(request_id)
        assert outcome.status == "running"
        assert outcome.wake_at is not None
        assert timedelta(seconds=3600) <= outcome.wake_at - clock.now() <= timedelta(seconds=3601)
        assert clock.sleeps == []
        steps = steps_of(runtime, request_id)
        assert (steps["shop"].status, steps["other"].status) == ("pending", "done")
        assert next_due(runtime, clock.now()) == [(request_id, steps["shop"].next_attempt_at)]
        # Not due yet: a pass now runs nothing.
        assert (await executor.run(request_id)).status == "running"
        assert server.log.count("/erase/shop") == 1
        clock.advance(3601)
        assert (await executor.run(request_id)).status == "completed"
        assert server.log.count("/erase/shop") == 2
        assert server.log.count("/erase/other") == 1  # a done step is never run again

    run_async(scenario())


def test_gives_up_after_the_last_attempt(
    shop: Callable[..., Runtime], server: ScriptedServer
) -> None:
    async def scenario() -> None:
        server.script("/erase/shop", *[Answer(503)] * 5)
        runtime = shop([http("shop", server)], jobs_max_attempts=3)
        request_id, executor, _ = await start(runtime)
        assert (await executor.run(request_id)).status == "failed"
        step = steps_of(runtime, request_id)["shop"]
        assert (step.status, step.attempts) == ("failed", 3)
        assert step.last_error == "gave up after 3 attempts: the test system answered 503"
        assert server.log.count("/erase/shop") == 3

    run_async(scenario())


def test_fatal_fails_the_step_at_once(shop: Callable[..., Runtime], server: ScriptedServer) -> None:
    async def scenario() -> None:
        server.script("/erase/shop", Answer(403))
        runtime = shop([http("shop", server), http("other", server)])
        request_id, executor, clock = await start(runtime)
        assert (await executor.run(request_id)).status == "failed"
        steps = steps_of(runtime, request_id)
        assert (steps["shop"].status, steps["shop"].attempts) == ("failed", 1)
        assert steps["shop"].last_error == "the test system refused with 403; check the key"
        assert steps["other"].status == "done"
        assert clock.sleeps == []
        # An admin fixes the key and retries: the failed step runs again, the done one not.
        assert retry_step(runtime, steps["shop"].id, "admin:1") == "running"
        with pytest.raises(StepError, match="only a failed step"):
            retry_step(runtime, steps["shop"].id, "admin:1")
        assert (await executor.run(request_id)).status == "completed"
        assert server.log.count("/erase/shop") == 2
        assert server.log.count("/erase/other") == 1

    run_async(scenario())


def test_missing_connector_settings_fail_with_what_to_do(
    shop: Callable[..., Runtime], server: ScriptedServer
) -> None:
    async def scenario() -> None:
        runtime = shop(
            [
                system(
                    "shop",
                    {
                        "type": "http_test",
                        "settings": {
                            "url": server.url,
                            "token_env": "SHOP_TOKEN",
                            "system_env": "NOT_SET_ANYWHERE",
                        },
                    },
                )
            ]
        )
        request_id = make_request(runtime)
        await asyncio.to_thread(queue_request, runtime, request_id, REGISTRY)
        # One variable set, one not: a broken configuration, for an admin to fix.
        executor = Executor(runtime, REGISTRY, clock=FakeClock(), environ={"SHOP_TOKEN": "t"})
        assert (await executor.run(request_id)).status == "failed"
        error = steps_of(runtime, request_id)["shop"].last_error
        assert error is not None
        assert "needs the environment variable NOT_SET_ANYWHERE" in error

    run_async(scenario())


def test_a_connector_with_no_variables_set_becomes_a_manual_task(
    shop: Callable[..., Runtime], server: ScriptedServer
) -> None:
    async def scenario() -> None:
        settings = {"url": server.url, "token_env": "SHOP_TOKEN", "system_env": "SHOP_SYSTEM"}
        runtime = shop([system("shop", {"type": "http_test", "settings": settings})])
        request_id = make_request(runtime)
        await asyncio.to_thread(queue_request, runtime, request_id, REGISTRY)
        executor = Executor(runtime, REGISTRY, clock=FakeClock(), environ={})
        assert (await executor.run(request_id)).status == "waiting"
        step = steps_of(runtime, request_id)["shop"]
        assert (step.status, step.connector, step.last_error) == ("waiting", None, None)
        plan = json.loads(step.plan)
        assert plan["disposition"] == "manual"
        assert plan["manual"]["reason"] == "not_configured"
        assert "SHOP_TOKEN, SHOP_SYSTEM" in plan["manual"]["reason_text"]["en"]
        assert "is not set up where personvern runs" in plan["manual"]["reason_text"]["en"]
        # The admin does it by hand, and the request completes.
        assert complete_manual_step(runtime, step.id, "admin:1", "Done by hand.") == "completed"

    run_async(scenario())


# --- manual tasks, holds, access -------------------------------------------------------------


def test_manual_tasks_wait_for_an_admin(
    shop: Callable[..., Runtime], server: ScriptedServer
) -> None:
    async def scenario() -> None:
        mailbox = system(
            "mailbox", {"type": "manual", "settings": {"contact_email": "post@strikkeloftet.no"}}
        )
        runtime = shop([http("shop", server), mailbox])
        request_id, executor, _ = await start(runtime)
        assert (await executor.run(request_id)).status == "waiting"
        steps = steps_of(runtime, request_id)
        assert steps["mailbox"].status == "waiting"
        assert steps["mailbox"].connector is None
        with pytest.raises(StepError, match="not a manual task"):
            complete_manual_step(runtime, steps["shop"].id, "admin:1", "done")
        status = complete_manual_step(
            runtime,
            steps["mailbox"].id,
            "admin:1",
            "Deleted 3 threads.",
            attachment=Path("reply.eml"),
        )
        assert status == "completed"
        done = steps_of(runtime, request_id)["mailbox"]
        assert (done.status, done.done_by, done.note, done.attachment) == (
            "done",
            "admin:1",
            "Deleted 3 threads.",
            "reply.eml",
        )
        with pytest.raises(StepError):
            complete_manual_step(runtime, steps["mailbox"].id, "admin:1", "again")
        assert status_of(runtime, request_id) == "completed"

    run_async(scenario())


def test_holds_reach_the_connector(shop: Callable[..., Runtime], server: ScriptedServer) -> None:
    async def scenario() -> None:
        holds = ["bookkeeping_primary: orders(order_number, total)"]
        runtime = shop([http("shop", server, holds=holds)], bookkeeping_on=("shop",))
        request_id, executor, _ = await start(runtime)
        assert (await executor.run(request_id)).status == "completed"
        [body] = server.log.hits["/erase/shop"]
        assert body["action"] == "anonymize"
        [hold] = body["holds"]
        assert hold["collection"] == "orders"
        assert hold["fields"] == ["order_number", "total"]
        assert hold["until"].endswith("-12-31")
        result = json.loads(steps_of(runtime, request_id)["shop"].result or "{}")
        assert result["kept"][0]["ground"] == "bokføringsloven § 13 (GDPR Art. 17(3)(b))"

    run_async(scenario())


def test_a_system_kept_whole_is_not_called(
    shop: Callable[..., Runtime], server: ScriptedServer
) -> None:
    async def scenario() -> None:
        runtime = shop([http("shop", server)], bookkeeping_on=("shop",))  # no field mapping
        request_id, executor, _ = await start(runtime)
        assert (await executor.run(request_id)).status == "completed"
        assert server.log.count("/erase/shop") == 0
        result = json.loads(steps_of(runtime, request_id)["shop"].result or "{}")
        assert [r["rule"] for r in result["kept_rules"]] == ["bookkeeping_primary"]
        assert "kept" in [e.action.rsplit(".", 1)[-1] for e in runtime.audit.entries()]

    run_async(scenario())


def test_access_results_are_stored_and_only_counts_audited(
    shop: Callable[..., Runtime], server: ScriptedServer
) -> None:
    async def scenario() -> None:
        runtime = shop([http("shop", server)])
        request_id, executor, _ = await start(runtime, kind="access")
        assert (await executor.run(request_id)).status == "completed"
        result = json.loads(steps_of(runtime, request_id)["shop"].result or "{}")
        assert result["records"] == [
            {"collection": "people", "key": "1", "fields": {"email": EMAIL}, "categories": {}}
        ]
        for entry in runtime.audit.entries():
            assert EMAIL not in entry.details
            assert "Kari" not in entry.details
        done = [
            json.loads(e.details)
            for e in runtime.audit.entries()
            if e.action == "request.step.done"
        ]
        assert done == [
            {
                "attempt": 1,
                "collections": {"people": 1},
                "records": 1,
                "step_action": "access",
                "system": "shop",
            }
        ]
        assert runtime.audit.verify().ok

    run_async(scenario())


# --- claiming --------------------------------------------------------------------------------


def test_a_step_is_claimed_once(shop: Callable[..., Runtime], server: ScriptedServer) -> None:
    async def scenario() -> None:
        runtime = shop([http("shop", server)])
        request_id, _, clock = await start(runtime)
        progress = Progress(runtime, "test")
        loaded = progress.load(request_id)
        assert loaded is not None
        request, [step] = loaded
        now = clock.now()
        lease = now + timedelta(seconds=60)
        assert progress.claim(request, step, now, lease) is True
        assert progress.claim(request, step, now, lease) is False  # the same view, again
        fresh = progress.step(step.id)
        assert progress.claim(request, fresh, now, lease) is False  # running, lease not lapsed
        # The lease lapses (its process died): another process takes the step over...
        later = lease + timedelta(seconds=1)
        assert progress.claim(request, fresh, later, later + timedelta(seconds=60)) is True
        # ...and the first process's late result is fenced off.
        assert progress.succeed(request, step, 1, {}, {}, later) is False
        assert progress.renew(step.id, 1, later) is False
        assert progress.step(step.id).attempts == 2

    run_async(scenario())


def test_a_request_that_may_not_run_is_refused(
    shop: Callable[..., Runtime], server: ScriptedServer
) -> None:
    async def scenario() -> None:
        runtime = shop([http("shop", server)])
        request_id = make_request(runtime, status="unverified")
        with pytest.raises(ValueError, match="only a verified"):
            queue_request(runtime, request_id, REGISTRY)

    run_async(scenario())
