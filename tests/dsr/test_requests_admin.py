"""The admin's request pages: the list by deadline, registering a request, a request's
timeline, and approving, refusing, extending and finishing manual tasks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from request_support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    VIEWER_EMAIL,
    VIEWER_PASSWORD,
    add_users,
    app_client,
    csrf_from,
    messages,
    sign_in,
)
from sqlalchemy import select, update

from personvern.dsr import requests as lifecycle
from personvern.dsr.deadlines import due_at
from personvern.dsr.intake import Intake
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.base import utcnow
from personvern.store.requests import DataRequest, RequestStep

KARI = "kari.nordmann@example.no"


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    add_users(runtime)
    with app_client(settings, runtime) as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    return client


@pytest.fixture
def viewer(client: TestClient) -> TestClient:
    sign_in(client, VIEWER_EMAIL, VIEWER_PASSWORD)
    return client


def _verified(runtime: Runtime, kind: str = "access", email: str = KARI, **extra: object) -> str:
    return lifecycle.create(
        runtime,
        Intake(kind=kind, email=email, **extra),  # type: ignore[arg-type]
        channel="admin",
        actor="admin:1",
        verified_note="Letter signed, address on file.",
    ).request_id


def _received(runtime: Runtime, request_id: str, days_ago: int) -> None:
    received = utcnow() - timedelta(days=days_ago)
    with runtime.sessions() as db, db.begin():
        db.execute(
            update(DataRequest)
            .where(DataRequest.id == request_id)
            .values(received_at=received, due_at=due_at(received))
        )


def _steps(runtime: Runtime, request_id: str) -> list[RequestStep]:
    with runtime.sessions() as db:
        return list(
            db.scalars(
                select(RequestStep)
                .where(RequestStep.request_id == request_id)
                .order_by(RequestStep.id)
            )
        )


def test_the_list_needs_a_sign_in(client: TestClient) -> None:
    response = client.get("/admin/requests", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")


def test_the_list_is_sorted_by_deadline_and_warns(viewer: TestClient, runtime: Runtime) -> None:
    fresh = _verified(runtime, email="fresh@example.no")
    soon = _verified(runtime, email="soon@example.no")
    late = _verified(runtime, email="late@example.no")
    _received(runtime, soon, 26)
    _received(runtime, late, 40)
    page = viewer.get("/admin/requests")
    assert page.status_code == 200
    text = page.text
    assert (
        text.index("late@example.no")
        < text.index("soon@example.no")
        < text.index("fresh@example.no")
    )
    assert 'data-deadline="overdue"' in text
    assert 'data-deadline="soon"' in text
    assert "dager på overtid" in text
    assert page.headers["cache-control"] == "no-store"
    # Filters.
    only = viewer.get("/admin/requests", params={"email": "soon@example.no"})
    assert "soon@example.no" in only.text
    assert "late@example.no" not in only.text
    erase = viewer.get("/admin/requests", params={"kind": "erase"})
    assert "Ingen forespørsler passer" in erase.text
    assert fresh


def test_a_viewer_reads_but_cannot_act(viewer: TestClient, runtime: Runtime) -> None:
    request_id = _verified(runtime)
    page = viewer.get(f"/admin/requests/{request_id}")
    assert page.status_code == 200
    assert "Avslå forespørselen" not in page.text
    assert viewer.get("/admin/requests/new").status_code == 403
    csrf = csrf_from(page.text)
    refused = viewer.post(
        f"/admin/requests/{request_id}/refuse",
        data={"csrf_token": csrf, "reason": "Not allowed for viewers anyway."},
    )
    assert refused.status_code == 403
    assert lifecycle.get(runtime, request_id).status != "refused"


def test_register_a_request_received_by_letter(admin: TestClient, runtime: Runtime) -> None:
    form = admin.get("/admin/requests/new")
    assert form.status_code == 200
    response = admin.post(
        "/admin/requests",
        data={
            "csrf_token": csrf_from(form.text),
            "kind": "erase",
            "email": KARI,
            "name": "Kari Nordmann",
            "lang": "nb",
            "verified": "yes",
            "verification_note": "Brev med underskrift, adressen stemmer med kunderegisteret.",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    request_id = response.headers["location"].split("/")[-1].split("?")[0]
    request = lifecycle.get(runtime, request_id)
    assert request.channel == "admin"
    assert request.verified_at is not None
    assert json.loads(request.details)["verification"]["note"].startswith("Brev med")
    page = admin.get(response.headers["location"])
    assert "Forespørselen er registrert." in page.text
    assert "Brev med underskrift" in page.text


def test_register_without_a_note_is_refused(admin: TestClient, runtime: Runtime) -> None:
    form = admin.get("/admin/requests/new")
    response = admin.post(
        "/admin/requests",
        data={
            "csrf_token": csrf_from(form.text),
            "kind": "access",
            "email": KARI,
            "verified": "yes",
            "verification_note": "",
        },
    )
    assert response.status_code == 400
    assert "Skriv begrunnelsen" in response.text
    assert lifecycle.expire_unverified(runtime) == 0
    with runtime.sessions() as db:
        assert db.scalar(select(DataRequest.id)) is None


def test_register_and_send_a_verification_link(admin: TestClient, runtime: Runtime) -> None:
    form = admin.get("/admin/requests/new")
    response = admin.post(
        "/admin/requests",
        data={
            "csrf_token": csrf_from(form.text),
            "kind": "access",
            "email": KARI,
            "verified": "no",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert len(messages(runtime, "verify")) == 1


def test_forms_need_the_csrf_token(admin: TestClient, runtime: Runtime) -> None:
    request_id = _verified(runtime)
    response = admin.post(
        f"/admin/requests/{request_id}/refuse", data={"reason": "Manifestly unfounded."}
    )
    assert response.status_code == 403
    assert lifecycle.get(runtime, request_id).status != "refused"


def test_timeline_shows_steps_emails_and_audit(admin: TestClient, runtime: Runtime) -> None:
    request_id = _verified(runtime, name="Kari Nordmann")
    page = admin.get(f"/admin/requests/{request_id}")
    assert page.status_code == 200
    for system in {s.system_key for s in _steps(runtime, request_id)}:
        assert system in page.text
    assert "request.received" in page.text
    assert "request.verified" in page.text
    assert "Vi har mottatt forespørselen din" in page.text
    assert "this-request" in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/admin/requests/00000000-0000-4000-8000-000000000000",
        "/admin/requests/not-an-id",
        "/admin/requests/00000000-0000-4000-8000-000000000000/steps/1/attachment",
    ],
)
def test_unknown_ids_are_404(viewer: TestClient, path: str) -> None:
    assert viewer.get(path).status_code == 404


def test_refuse_from_the_page(admin: TestClient, runtime: Runtime) -> None:
    request_id = _verified(runtime, lang="en")
    page = admin.get(f"/admin/requests/{request_id}")
    response = admin.post(
        f"/admin/requests/{request_id}/refuse",
        data={
            "csrf_token": csrf_from(page.text),
            "reason": "This is your fifth identical request this week.",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert lifecycle.get(runtime, request_id).status == "refused"
    [letter] = messages(runtime, "refusal")
    assert "GDPR Article 12(4)" in letter.text_body
    assert "Datatilsynet" in letter.text_body
    short = admin.post(
        f"/admin/requests/{_verified(runtime, email='b@example.no')}/refuse",
        data={"csrf_token": csrf_from(page.text), "reason": "no"},
    )
    assert short.status_code == 400


def test_extend_from_the_page(admin: TestClient, runtime: Runtime) -> None:
    request_id = _verified(runtime)
    page = admin.get(f"/admin/requests/{request_id}")
    assert "Forleng fristen" in page.text
    response = admin.post(
        f"/admin/requests/{request_id}/extend",
        data={
            "csrf_token": csrf_from(page.text),
            "months": "2",
            "reason": "Opplysningene dine ligger i mange systemer.",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    request = lifecycle.get(runtime, request_id)
    assert request.extended_due_at == due_at(request.received_at, 3)
    assert len(messages(runtime, "extension")) == 1
    bad = admin.post(
        f"/admin/requests/{request_id}/extend",
        data={"csrf_token": csrf_from(page.text), "months": "5", "reason": "Because we can."},
    )
    assert bad.status_code == 400


def test_approve_a_rectification(admin: TestClient, runtime: Runtime) -> None:
    request_id = _verified(runtime, kind="rectify", changes={"name": "Kari Nordmann-Hansen"})
    assert lifecycle.get(runtime, request_id).status == "awaiting_approval"
    page = admin.get(f"/admin/requests/{request_id}")
    assert "Kari Nordmann-Hansen" in page.text
    response = admin.post(
        f"/admin/requests/{request_id}/approve",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    request = lifecycle.get(runtime, request_id)
    assert request.approved_by is not None
    assert request.approved_by.startswith("admin:")
    assert request.status in {"running", "waiting", "completed", "failed"}


def _manual_step(runtime: Runtime, request_id: str) -> RequestStep:
    manual = [s for s in _steps(runtime, request_id) if s.connector is None]
    assert manual, "the Assemble inventory gives manual steps"
    with runtime.sessions() as db, db.begin():
        db.execute(
            update(RequestStep).where(RequestStep.id == manual[0].id).values(status="waiting")
        )
    return manual[0]


def test_mark_a_manual_task_done_with_an_attachment(
    admin: TestClient, runtime: Runtime, settings: Settings
) -> None:
    request_id = _verified(runtime, kind="erase")
    step = _manual_step(runtime, request_id)
    page = admin.get(f"/admin/requests/{request_id}")
    assert "Merk som utført" in page.text
    response = admin.post(
        f"/admin/requests/{request_id}/steps/{step.id}/done",
        data={"csrf_token": csrf_from(page.text), "note": "Klarna bekreftet sletting på e-post."},
        files={
            "attachment": ("../../etc/klarna svar.pdf", b"%PDF-1.4 confirmation", "application/pdf")
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    [done] = [s for s in _steps(runtime, request_id) if s.id == step.id]
    assert done.status == "done"
    assert done.note == "Klarna bekreftet sletting på e-post."
    assert done.attachment is not None
    stored = list((settings.data_dir / "attachments" / request_id).iterdir())
    assert len(stored) == 1
    assert stored[0].suffix == ".pdf"
    assert "klarna" not in stored[0].name
    download = admin.get(f"/admin/requests/{request_id}/steps/{step.id}/attachment")
    assert download.status_code == 200
    assert download.content == b"%PDF-1.4 confirmation"
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith("attachment")
    # Done is done.
    again = admin.post(
        f"/admin/requests/{request_id}/steps/{step.id}/done",
        data={"csrf_token": csrf_from(page.text), "note": "Twice."},
    )
    assert again.status_code == 400


def test_a_too_large_attachment_is_refused(settings: Settings, runtime: Runtime) -> None:
    add_users(runtime)
    request_id = _verified(runtime, kind="erase")
    step = _manual_step(runtime, request_id)
    with app_client(settings, runtime, request_attachment_max_bytes=1024) as client:
        sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        page = client.get(f"/admin/requests/{request_id}")
        response = client.post(
            f"/admin/requests/{request_id}/steps/{step.id}/done",
            data={"csrf_token": csrf_from(page.text), "note": "Svar fra Vipps vedlagt."},
            files={"attachment": ("svar.txt", b"x" * 2048, "text/plain")},
        )
    assert response.status_code == 413
    assert "Vedlegget er for stort" in response.text
    [same] = [s for s in _steps(runtime, request_id) if s.id == step.id]
    assert same.status == "waiting"
    folder = settings.data_dir / "attachments" / request_id
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_step_of_another_request_is_404(admin: TestClient, runtime: Runtime) -> None:
    mine = _verified(runtime, kind="erase")
    other = _verified(runtime, kind="erase", email="ola@example.no")
    step = _manual_step(runtime, other)
    page = admin.get(f"/admin/requests/{mine}")
    response = admin.post(
        f"/admin/requests/{mine}/steps/{step.id}/done",
        data={"csrf_token": csrf_from(page.text), "note": "Wrong request."},
    )
    assert response.status_code == 404
