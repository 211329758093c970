"""The request lifecycle as a service: create, confirm, plan, approve, refuse, extend, expire.

Every state change has its audit entry (with no personal data in it) and, where the person
is to be told, its e-mail in the outbox, in the person's language.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from request_support import messages, status_token, verify_token
from sqlalchemy import select, update

from personvern.dsr import requests as lifecycle
from personvern.dsr.deadlines import due_at
from personvern.dsr.intake import Intake, RequestError
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.base import utcnow
from personvern.store.requests import DataRequest, RequestStep, RequestToken
from personvern.store.tables import AuditEntry

KARI = "kari.nordmann@example.no"


def _get(runtime: Runtime, request_id: str) -> DataRequest:
    return lifecycle.get(runtime, request_id)


def _create(runtime: Runtime, kind: str = "access", **fields: object) -> str:
    intake = Intake(kind=kind, email=fields.pop("email", KARI), **fields)  # type: ignore[arg-type]
    return lifecycle.create(runtime, intake, channel="form", actor="requester").request_id


def _audit(runtime: Runtime, request_id: str) -> list[AuditEntry]:
    with runtime.sessions() as db:
        return list(
            db.scalars(
                select(AuditEntry)
                .where(AuditEntry.object_id == request_id)
                .order_by(AuditEntry.seq)
            )
        )


def test_a_new_request_waits_for_the_email_link(runtime: Runtime) -> None:
    request_id = _create(runtime, name="Kari Nordmann")
    request = _get(runtime, request_id)
    assert request.status == "unverified"
    assert request.due_at == due_at(request.received_at)
    assert request.expires_at is not None
    assert request.expires_at - request.received_at == timedelta(days=7)
    [mail] = messages(runtime, "verify")
    assert mail.to_address == KARI
    assert mail.request_id == request_id
    assert mail.lang == "nb"
    assert mail.subject == "Bekreft forespørselen din om personopplysninger"
    assert "Hei Kari Nordmann," in mail.text_body
    assert "Innsyn i opplysningene dine (personvernforordningen artikkel 15)" in mail.text_body
    assert "24 timer" in mail.text_body
    assert [e.action for e in _audit(runtime, request_id)] == [
        "request.received",
        "request.verification_sent",
    ]


def test_only_the_hash_of_a_link_is_stored(runtime: Runtime) -> None:
    _create(runtime)
    token = verify_token(messages(runtime, "verify")[0].text_body)
    with runtime.sessions() as db:
        rows = list(db.scalars(select(RequestToken)))
    assert len(rows) == 1
    assert rows[0].purpose == "verify"
    raw = token.split(".")[0]
    assert raw not in rows[0].token_hash
    assert len(rows[0].token_hash) == 64


def test_confirming_verifies_plans_and_runs(runtime: Runtime) -> None:
    request_id = _create(runtime)
    token = verify_token(messages(runtime, "verify")[0].text_body)
    outcome = lifecycle.confirm(runtime, token)
    assert outcome.state == "valid"
    assert outcome.request_id == request_id
    assert outcome.status_token
    request = _get(runtime, request_id)
    assert request.verified_at is not None
    assert request.expires_at is None
    # Planned from the Assemble inventory, then handed to the job layer.
    assert request.status == "running"
    with runtime.sessions() as db:
        steps = list(db.scalars(select(RequestStep).where(RequestStep.request_id == request_id)))
    assert steps
    assert {s.action for s in steps} == {"access"}
    [received] = messages(runtime, "received")
    assert received.subject == "Vi har mottatt forespørselen din"
    assert status_token(received.text_body)
    actions = [e.action for e in _audit(runtime, request_id)]
    assert actions[:4] == [
        "request.received",
        "request.verification_sent",
        "request.verified",
        "request.planned",
    ]
    assert "request.queued" in actions


def test_a_link_works_once(runtime: Runtime) -> None:
    _create(runtime)
    token = verify_token(messages(runtime, "verify")[0].text_body)
    assert lifecycle.confirm(runtime, token).state == "valid"
    assert lifecycle.confirm(runtime, token).state == "used"
    assert len(messages(runtime, "received")) == 1


@pytest.mark.parametrize(
    "value",
    [
        "",
        "nonsense",
        "A" * 43 + "." + "0" * 32,  # well-formed, never issued, bad signature
    ],
)
def test_a_guessed_link_is_unknown(runtime: Runtime, value: str) -> None:
    _create(runtime)
    assert lifecycle.confirm(runtime, value).state == "unknown"


def test_a_link_for_another_purpose_is_unknown(runtime: Runtime) -> None:
    _create(runtime)
    token = verify_token(messages(runtime, "verify")[0].text_body)
    status = lifecycle.confirm(runtime, token).status_token
    assert status is not None
    # A status link cannot confirm, and a verify link is not a status link.
    assert lifecycle.confirm(runtime, status).state == "unknown"


def test_an_old_link_has_expired(runtime: Runtime) -> None:
    request_id = _create(runtime)
    token = verify_token(messages(runtime, "verify")[0].text_body)
    later = utcnow() + timedelta(hours=25)
    assert lifecycle.confirm(runtime, token, now=later).state == "expired"
    assert _get(runtime, request_id).status == "unverified"


def test_unverified_requests_expire_after_seven_days(runtime: Runtime) -> None:
    old = _create(runtime)
    fresh = _create(runtime, email="ola@example.no")
    with runtime.sessions() as db, db.begin():
        db.execute(
            update(DataRequest)
            .where(DataRequest.id == old)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert lifecycle.expire_unverified(runtime) == 1
    assert _get(runtime, old).status == "expired"
    assert _get(runtime, fresh).status == "unverified"
    assert lifecycle.expire_unverified(runtime) == 0
    token = verify_token(messages(runtime, "verify")[0].text_body)
    assert lifecycle.confirm(runtime, token).state == "expired"
    assert [e.action for e in _audit(runtime, old)][-1] == "request.expired"


def test_rectification_waits_for_an_admin(runtime: Runtime) -> None:
    created = lifecycle.create(
        runtime,
        Intake(kind="rectify", email=KARI, changes={"phone": "+47 900 00 000"}),
        channel="admin",
        actor="admin:1",
        verified_note="Called the number on file and asked.",
    )
    request = _get(runtime, created.request_id)
    assert request.status == "awaiting_approval"
    assert json.loads(request.changes) == {"phone": "+47 900 00 000"}
    lifecycle.approve(runtime, created.request_id, "admin:1")
    request = _get(runtime, created.request_id)
    assert request.status == "running"
    assert request.approved_by == "admin:1"
    with pytest.raises(RequestError, match="awaiting approval"):
        lifecycle.approve(runtime, created.request_id, "admin:1")


def test_review_first_holds_every_kind(settings: Settings) -> None:
    runtime = Runtime.open(
        settings.model_copy(update={"request_run_mode": "review"}), migrate=False
    )
    try:
        created = lifecycle.create(
            runtime,
            Intake(kind="erase", email=KARI),
            channel="cli",
            actor="cli",
            verified_note="Vouched for on the command line.",
        )
        assert _get(runtime, created.request_id).status == "awaiting_approval"
    finally:
        runtime.close()


def test_verified_intake_needs_a_real_note(runtime: Runtime) -> None:
    with pytest.raises(RequestError) as raised:
        lifecycle.create(
            runtime,
            Intake(kind="access", email=KARI),
            channel="admin",
            actor="a",
            verified_note="ok",
        )
    assert raised.value.field == "verification_note"
    assert messages(runtime) == []


@pytest.mark.parametrize(
    ("intake", "field"),
    [
        (Intake(kind="delete", email=KARI), "kind"),
        (Intake(kind="access", email="not an address"), "email"),
        (Intake(kind="access", email=""), "email"),
        (Intake(kind="access", email=KARI, phone="call me"), "phone"),
        (Intake(kind="access", email=KARI, lang="sv"), "lang"),
        (Intake(kind="access", email=KARI, name="x" * 201), "name"),
        (Intake(kind="rectify", email=KARI), "changes"),
        (Intake(kind="rectify", email=KARI, changes={"shoe_size": "44"}), "changes.shoe_size"),
        (Intake(kind="rectify", email=KARI, changes={"email": "nope"}), "changes.email"),
        (Intake(kind="access", email=KARI, changes={"name": "Kari"}), "changes"),
    ],
)
def test_bad_input_names_its_field_and_writes_nothing(
    runtime: Runtime, intake: Intake, field: str
) -> None:
    with pytest.raises(RequestError) as raised:
        lifecycle.create(runtime, intake, channel="api", actor="api:test")
    assert raised.value.field == field
    with runtime.sessions() as db:
        assert db.scalar(select(DataRequest.id)) is None
    assert messages(runtime) == []


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "nb",
            [
                "Svar på forespørselen din: vi imøtekommer den ikke",
                "Begrunnelse:\nDu har sendt samme forespørsel tolv ganger denne uken.",
                "klage til tilsynsmyndigheten, Datatilsynet",
                "https://www.datatilsynet.no, Postboks 458 Sentrum, 0105 Oslo",
                "domstolene (personvernforordningen artikkel 77 og 79)",
                "personvernforordningen artikkel 12 nr. 4",
                "Assemble Prosjekt AS",
            ],
        ),
        (
            "en",
            [
                "Answer to your request: we will not act on it",
                "Our reasons:\nDu har sendt samme forespørsel tolv ganger denne uken.",
                "complain to the supervisory authority, Datatilsynet",
                "https://www.datatilsynet.no, Postboks 458 Sentrum, 0105 Oslo",
                "before the courts (GDPR Articles 77 and 79)",
                "GDPR Article 12(4)",
            ],
        ),
    ],
)
def test_refusal_letter_follows_article_12_4(
    runtime: Runtime, lang: str, expected: list[str]
) -> None:
    created = lifecycle.create(
        runtime,
        Intake(kind="access", email=KARI, lang=lang),
        channel="admin",
        actor="admin:1",
        verified_note="Letter signed by the customer.",
    )
    reason = "Du har sendt samme forespørsel tolv ganger denne uken."
    lifecycle.refuse(runtime, created.request_id, "admin:1", reason)
    request = _get(runtime, created.request_id)
    assert request.status == "refused"
    assert request.refusal_reason == reason
    [letter] = messages(runtime, "refusal")
    assert letter.lang == lang
    text = letter.subject + "\n" + letter.text_body
    for part in expected:
        assert part in text
    with runtime.sessions() as db:
        steps = list(
            db.scalars(select(RequestStep).where(RequestStep.request_id == created.request_id))
        )
    # The plan will not run: what had not run is skipped.
    assert all(s.status in {"skipped", "done"} for s in steps)
    refused = [e for e in _audit(runtime, created.request_id) if e.action == "request.refused"]
    assert json.loads(refused[0].details) == {"late": False}


def test_a_refusal_needs_reasons(runtime: Runtime) -> None:
    request_id = _create(runtime)
    with pytest.raises(RequestError, match="reasons"):
        lifecycle.refuse(runtime, request_id, "admin:1", "no")
    assert messages(runtime, "refusal") == []


def test_extension_notice_goes_out_before_the_first_deadline(runtime: Runtime) -> None:
    created = lifecycle.create(
        runtime,
        Intake(kind="access", email=KARI, lang="en"),
        channel="admin",
        actor="admin:1",
        verified_note="E-mail from the address on file.",
    )
    request = _get(runtime, created.request_id)
    new_due = lifecycle.extend(
        runtime,
        created.request_id,
        "admin:1",
        months=2,
        reason="Your data is spread over many systems.",
        now=request.due_at - timedelta(days=1),
    )
    request = _get(runtime, created.request_id)
    assert new_due == due_at(request.received_at, 3)
    assert request.extended_due_at == new_due
    assert request.extension_notice_at is not None
    assert request.extension_notice_at < request.due_at
    [notice] = messages(runtime, "extension")
    assert notice.subject == "Your request will take longer"
    assert "Your data is spread over many systems." in notice.text_body
    assert "GDPR Article 12(3)" in notice.text_body
    assert status_token(notice.text_body)


def test_no_extension_after_the_first_deadline(runtime: Runtime) -> None:
    created = lifecycle.create(
        runtime,
        Intake(kind="access", email=KARI),
        channel="admin",
        actor="admin:1",
        verified_note="E-mail from the address on file.",
    )
    request = _get(runtime, created.request_id)
    with pytest.raises(RequestError, match="first deadline has passed") as raised:
        lifecycle.extend(
            runtime,
            created.request_id,
            "admin:1",
            months=1,
            reason="We are busy this month.",
            now=request.due_at + timedelta(minutes=1),
        )
    assert raised.value.field == "months"
    assert messages(runtime, "extension") == []
    assert _get(runtime, created.request_id).extended_due_at is None


def _completed(runtime: Runtime, kind: str = "object") -> str:
    created = lifecycle.create(
        runtime,
        Intake(kind=kind, email=KARI),
        channel="admin",
        actor="admin:1",
        verified_note="E-mail from the address on file.",
    )
    assert not lifecycle.notify_completed(runtime, created.request_id)  # not completed yet
    with runtime.sessions() as db, db.begin():
        db.execute(
            update(DataRequest)
            .where(DataRequest.id == created.request_id)
            .values(status="completed", completed_at=utcnow())
        )
    return created.request_id


def test_completion_is_told_once(runtime: Runtime) -> None:
    request_id = _completed(runtime)
    assert lifecycle.notify_completed(runtime, request_id)
    assert not lifecycle.notify_completed(runtime, request_id)
    told = [m for m in messages(runtime) if m.purpose in {"completed", "report"}]
    assert len(told) == 1
    assert told[0].request_id == request_id


def test_without_a_report_the_short_letter_goes(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from personvern.dsr.reports import delivery

    monkeypatch.setattr(delivery, "deliver_quietly", lambda runtime, request_id: False)
    request_id = _completed(runtime)
    assert lifecycle.notify_completed(runtime, request_id)
    assert not lifecycle.notify_completed(runtime, request_id)
    [done] = messages(runtime, "completed")
    assert done.subject == "Forespørselen din er fullført"
    assert "Protest mot direkte markedsføring" in done.text_body
    assert status_token(done.text_body)


def test_the_audit_log_holds_no_personal_data(runtime: Runtime) -> None:
    request_id = _create(runtime, name="Kari Nordmann", phone="+47 900 11 222", message="Hei!")
    token = verify_token(messages(runtime, "verify")[0].text_body)
    lifecycle.confirm(runtime, token)
    entries = _audit(runtime, request_id)
    assert entries
    for entry in entries:
        blob = entry.actor + entry.action + entry.details + (entry.subject_key or "")
        for secret in (KARI, "Kari", "900 11 222", "Hei!", token.split(".")[0]):
            assert secret not in blob
    # …yet the person's entries are found by their address (the keyed hash).
    assert {e.seq for e in runtime.audit.entries(subject=KARI)} >= {e.seq for e in entries}


def test_unknown_request_ids(runtime: Runtime) -> None:
    with pytest.raises(lifecycle.RequestNotFound):
        lifecycle.get(runtime, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(lifecycle.RequestNotFound):
        lifecycle.approve(runtime, "00000000-0000-4000-8000-000000000000", "admin:1")
