"""Queuing: a message exists exactly when the caller's transaction commits, and bad input is
refused before anything is added."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from personvern.mail import InvalidMessage, queue
from personvern.runtime import Runtime
from personvern.store.mail import OutboxMessage


def _count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def test_queued_in_the_callers_transaction(runtime: Runtime) -> None:
    with runtime.audit.session() as session:
        message = queue(
            session,
            to="Ola.Nordmann@Example.NO",
            subject="Bekreft forespørselen din",
            text="Hei Ola,\n\nklikk på lenken for å bekrefte.",
            html="<p>Hei Ola</p>",
            headers={"List-Unsubscribe": "<https://assemble.no/u/1>"},
            lang="nb",
            purpose="verify",
            request_id="1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
        )
        assert message.id is not None  # flushed: the caller can refer to it
    with runtime.sessions() as session:
        stored = session.get(OutboxMessage, message.id)
    assert stored is not None
    assert stored.status == "queued"
    assert stored.attempts == 0
    assert stored.to_address == "Ola.Nordmann@example.no"  # domain normalised, local part kept
    assert stored.subject == "Bekreft forespørselen din"
    assert json.loads(stored.headers) == {"List-Unsubscribe": "<https://assemble.no/u/1>"}
    assert stored.next_attempt_at == stored.created_at  # due at once


def test_a_rolled_back_transaction_leaves_no_message(runtime: Runtime) -> None:
    class WorkFailed(Exception):
        pass

    def work() -> None:
        with runtime.audit.session() as session:
            queue(session, to="kari@example.no", subject="S", text="T", lang="nb", purpose="x")
            raise WorkFailed  # the work that needed the message failed after queuing it

    with pytest.raises(WorkFailed):
        work()
    assert _count(runtime) == 0


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"to": "not an address"}, "not a valid e-mail address"),
        ({"to": "kari@@example.no"}, "not a valid e-mail address"),
        ({"to": "kari@localhost"}, "not a valid e-mail address"),
        ({"to": "kari@example.no\r\nBcc: x@example.no"}, "not a valid e-mail address"),
        ({"subject": "   "}, "subject is empty"),
        ({"subject": "Hei\r\nBcc: spion@example.no"}, "one line"),
        ({"text": ""}, "text body is empty"),
        ({"lang": "sv"}, "speaks nb"),
        ({"purpose": "Verify Me"}, "short lower-case word"),
        ({"headers": {"Bcc": "spion@example.no"}}, "set by the sender"),
        ({"headers": {"From": "ceo@example.no"}}, "set by the sender"),
        ({"headers": {"X-Ok": "a\r\nBcc: spion@example.no"}}, "one line"),
        ({"headers": {"Bad Name": "x"}}, "not valid"),
        ({"headers": {"X-Empty": " "}}, "no value"),
    ],
)
def test_bad_input_is_refused_and_adds_nothing(
    runtime: Runtime, changes: dict[str, object], complaint: str
) -> None:
    fields: dict[str, object] = {
        "to": "kari@example.no",
        "subject": "Emne",
        "text": "Tekst",
        "lang": "nb",
        "purpose": "notice",
    }
    fields.update(changes)
    with runtime.sessions() as session:
        with pytest.raises(InvalidMessage, match=complaint) as info:
            queue(session, **fields)  # type: ignore[arg-type]  # table-driven
        assert not session.new  # nothing was added to the session
        session.commit()
    assert _count(runtime) == 0
    # The address is never repeated in the error: errors can end up in logs.
    assert "kari@" not in str(info.value)


def test_the_error_for_a_bad_address_does_not_repeat_it(runtime: Runtime) -> None:
    with runtime.sessions() as session, pytest.raises(InvalidMessage) as info:
        queue(session, to="ola@nordmann@x.no", subject="S", text="T", lang="en", purpose="x")
    assert "ola@nordmann" not in str(info.value)
    assert "name@example.no" in str(info.value)  # and it says what a good one looks like
